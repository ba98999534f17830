"""Run by tests/integration/test_hangul_tokenizer.py in Rasa's Python 3.10 environment,
from nlu/: the tokens Rasa's WhitespaceTokenizer and Sotong's HangulWhitespaceTokenizer
make of the same messages, as JSON ({tokenizer: {message: [[text, start, end], ...]}})."""

from __future__ import annotations

import json
import sys

from components.hangul_whitespace_tokenizer import HangulWhitespaceTokenizer
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.training_data.message import Message


def main() -> None:
    messages = sys.argv[1:]
    found = {}
    for tokenizer_class in (WhitespaceTokenizer, HangulWhitespaceTokenizer):
        tokenizer = tokenizer_class(tokenizer_class.get_default_config())
        found[tokenizer_class.__name__] = {
            text: [
                [token.text, token.start, token.end]
                for token in tokenizer.tokenize(Message(data={"text": text}), "text")
            ]
            for text in messages
        }
    json.dump(found, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
