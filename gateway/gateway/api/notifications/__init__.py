"""Replies to CVMS's text messages: Twilio's inbound SMS webhook (STOP, START)."""
