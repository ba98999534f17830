"""Phone voice channel over Twilio: TwiML for the call, Media Streams for its audio.

``wire`` turns Media Streams JSON into the typed events of ``voice.events`` and back;
``twiml`` builds the TwiML answers with the Twilio SDK. Nothing else here or in
``voice/`` knows Twilio's formats.
"""
