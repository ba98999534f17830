"""Run by tests/integration/test_linear_classifier.py in Rasa's Python 3.10 environment,
from nlu/ (where Rasa imports custom components): trains LinearIntentClassifier on a small
featurized data set, persists and loads it, and prints what it found as JSON."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import skops.io
from components.hangul_whitespace_tokenizer import HangulWhitespaceTokenizer
from components.linear_classifier import _FILE, LinearIntentClassifier
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import (
    CountVectorsFeaturizer,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

EXAMPLES = {
    "service_basic_pension": ["기초연금 신청", "기초연금 받고 싶어요", "basic pension apply"],
    "service_resident_registration_copy": ["등본 떼려고요", "주민등록등본 발급", "resident copy"],
    "greet": ["안녕하세요", "hello", "안녕"],
}
PROBES = {
    "short": "기초연금",
    # A long message that says the pension once among many other words: weighted and
    # scaled, its many n-grams must not drown the one that matters.
    "long": "어머니가 올해 예순다섯이 되셨는데 혼자 사시고 수입도 거의 없으셔서 "
    "나라에서 주는 기초연금 같은 게 있으면 신청해 드리고 싶어요",
}


def main() -> None:
    work = Path(tempfile.mkdtemp())
    (work / "storage").mkdir()
    storage = LocalModelStorage(work / "storage")
    context = ExecutionContext(GraphSchema({}), "check")
    tokenizer = HangulWhitespaceTokenizer(HangulWhitespaceTokenizer.get_default_config())
    featurizers = [
        CountVectorsFeaturizer.create(config, storage, Resource(name), context)
        for name, config in (
            ("words", {**CountVectorsFeaturizer.get_default_config()}),
            (
                "chars",
                {
                    **CountVectorsFeaturizer.get_default_config(),
                    "analyzer": "char_wb",
                    "min_ngram": 1,
                    "max_ngram": 4,
                },
            ),
        )
    ]
    data = TrainingData(
        [
            Message(data={"text": text, "intent": intent})
            for intent, texts in EXAMPLES.items()
            for text in texts
        ]
    )
    tokenizer.process_training_data(data)
    for featurizer in featurizers:
        featurizer.train(data)
        featurizer.process_training_data(data)

    resource = Resource("linear")
    trained = LinearIntentClassifier.create({}, storage, resource, context)
    trained.train(data)

    def classify(classifier: LinearIntentClassifier, text: str) -> dict:
        message = Message(data={"text": text})
        tokenizer.process([message])
        for featurizer in featurizers:
            featurizer.process([message])
        classifier.process([message])
        return {"intent": message.get("intent"), "ranking": message.get("intent_ranking")}

    loaded = LinearIntentClassifier.load({}, storage, resource, context)
    result = {
        "trained": {name: classify(trained, text) for name, text in PROBES.items()},
        "loaded": {name: classify(loaded, text) for name, text in PROBES.items()},
    }
    # A model file holding a type the component never writes is refused, not loaded.
    with storage.write_to(resource) as directory:
        skops.io.dump({"payload": Path("/etc/passwd")}, directory / _FILE)
    tampered = LinearIntentClassifier.load({}, storage, resource, context)
    result["tampered"] = classify(tampered, PROBES["short"])
    json.dump(result, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
