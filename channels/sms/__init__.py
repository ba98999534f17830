"""SMS channel over Twilio."""
