"""Rasa's whitespace tokenizer without its emoji filter's hold on Korean.

Rasa 3.6's ``WhitespaceTokenizer`` drops every token that its emoji pattern matches
whole (``rasa.utils.io.get_emoji_regex``). One range of that pattern, U+24C2 to
U+1F251, spans all of CJK and every Hangul syllable, so each Korean word counts as an
emoji and is dropped: "등본 어디서 떼요" became one token (the whole message, the
tokenizer's last resort when nothing is left), and "15년 주민등록초본은 어디서" the single
token "15년", the Korean words gone. The featurizers then saw only a message's digits
and Latin words whenever it had any, so a number or an English word decided the service
("2 주민등록초본…" fell back; "15년 주민등록초본…" went to the survivor's pension at
0.99). README, "Evaluation", has the figures.

Here a token is an emoji only when it is made of emoji characters as Unicode defines
them (``Extended_Pictographic``, skin-tone modifiers, flag letters and the joiners),
read with the ``regex`` package Rasa already uses. Everything else of Rasa's
tokenizer (its splitting, spans, token pattern) is kept.
"""

from __future__ import annotations

import regex
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

_EMOJI = regex.compile(
    r"[\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Regional_Indicator}\u200d\u200c\ufe0f]+"
)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class HangulWhitespaceTokenizer(WhitespaceTokenizer):
    """Whitespace tokens in which Korean (and Chinese, Japanese) words survive."""

    def remove_emoji(self, text: str) -> str:
        """ "" when the whole token is emoji, else the token unchanged."""
        return "" if _EMOJI.fullmatch(text) else text
