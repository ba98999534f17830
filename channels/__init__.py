"""Channel adapters: each turns its provider's input into one IncomingMessage and hands
it to the conversation core; none talks to Rasa itself."""
