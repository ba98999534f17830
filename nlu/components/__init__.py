"""Custom Rasa components (importable because Rasa runs from ``nlu/``)."""
