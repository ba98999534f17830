"""Phone voice channel (Twilio Media Streams, Vosk, pyttsx3): built in its own issue."""
