"""A voice IVR toolkit: one YAML menu, one state machine, two front ends (Twilio and a terminal)."""
