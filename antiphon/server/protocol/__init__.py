"""The Realtime wire protocol as types: client events (client_events), server events
(server_events), and how a bad event becomes a specific error (errors)."""
