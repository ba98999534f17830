"""A Korean morphological tokenizer for Rasa, built on kiwipiepy.

Korean glues particles and endings to words ("등본을", "떼려구요"), and citizens drop
spaces ("기초연금신청하려면"). Kiwi splits such text into morphemes; each token keeps
the surface text it came from (so positions stay true to the message) and the
morpheme's base form as its lemma, which the count-vector featurizers use.

Measured against whitespace tokens + character n-grams on the held-out evaluation set;
the README gives both figures and says which pipeline is in use.
"""

from __future__ import annotations

from typing import Any

from kiwipiepy import Kiwi
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.tokenizers.tokenizer import Token, Tokenizer
from rasa.shared.nlu.training_data.message import Message

# Punctuation and symbols carry no meaning for intents.
_SKIPPED_TAGS = ("SF", "SP", "SS", "SSO", "SSC", "SE", "SO", "SW")


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class KiwiTokenizer(Tokenizer):
    """Morpheme tokens for Korean; Latin words and numbers come through whole."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Tokenizer defaults, as Rasa expects them."""
        return {
            "intent_tokenization_flag": False,
            "intent_split_symbol": "_",
            "token_pattern": None,
            "prefix_separator_symbol": None,
        }

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        # Loading the model takes about a second; one instance serves the process.
        self._kiwi = Kiwi()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> KiwiTokenizer:
        """Creates the component (see Rasa's GraphComponent)."""
        return cls(config)

    @staticmethod
    def required_packages() -> list[str] | None:
        """Packages the component needs."""
        return ["kiwipiepy"]

    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        """Morphemes of the message, each with its surface span and base form."""
        text = message.get(attribute) or ""
        tokens: list[Token] = []
        for morpheme in self._kiwi.tokenize(text):
            if morpheme.tag in _SKIPPED_TAGS:
                continue
            start, end = morpheme.start, morpheme.start + morpheme.len
            surface = text[start:end] or morpheme.form
            tokens.append(Token(surface, start, end, lemma=morpheme.form))
        if not tokens:
            tokens = [Token(text, 0, len(text), lemma=text)]
        return self._apply_token_pattern(tokens)
