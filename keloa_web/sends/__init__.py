"""Replies to customers: the outbox (`outbox.create_outgoing`) and the send jobs on the `sends` queue."""
