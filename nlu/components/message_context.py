"""The gateway's language and channel for a message, as entities Rasa's slot mappings read.

The gateway decides a message's language and channel and sends them as the message's
metadata. The ``language`` and ``channel`` slots used to be filled by a custom action
(``action_read_message_context``) that Rasa called on every user message: a second
HTTP round trip to the action server each turn, carrying the whole conversation
(issue 19). Read here, in the NLU pipeline, they become ``from_entity`` mappings that
Rasa applies itself. The entities do not influence the conversation (the domain says
so), so the policies see the same states as before.

Messages sent as ``/intent{…}`` payloads skip this component's result (Rasa's regex
message handler replaces the parse at the end of the pipeline), so the gateway puts the
same two entities into the payload (``assistant/rasa_client.py``).
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, METADATA
from rasa.shared.nlu.training_data.message import Message

LANGUAGES = frozenset({"ko", "en"})
# A channel name is short and plain ("web", "sms", "voice", "kiosk"); anything else in
# the metadata is not the gateway's and is ignored.
_MAX_CHANNEL = 32


def context_entities(metadata: Any) -> list[dict[str, Any]]:
    """The ``language`` and ``channel`` entities for a message's metadata (none if absent)."""
    if not isinstance(metadata, dict):
        return []
    entities = []
    language = metadata.get("language")
    if language in LANGUAGES:
        entities.append({"entity": "language", "value": language})
    channel = metadata.get("channel")
    if isinstance(channel, str) and 0 < len(channel) <= _MAX_CHANNEL and channel.isascii():
        entities.append({"entity": "channel", "value": channel})
    return entities


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class MessageContextExtractor(GraphComponent, EntityExtractorMixin):
    """Adds the metadata's ``language`` and ``channel`` to a message's entities."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MessageContextExtractor:
        """The extractor (nothing to train or persist)."""
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        """Each message with its context entities appended (training data is untouched:
        its examples carry no metadata)."""
        for message in messages:
            found = context_entities(message.get(METADATA))
            if found:
                entities = message.get(ENTITIES, []) + self.add_extractor_name(found)
                message.set(ENTITIES, entities, add_to_output=True)
        return messages
