"""Live by push: a server-sent events stream per open tab (views.py), woken through Redis pub/sub
when a transaction that changed a conversation or made a notification commits (bus.py). The stream
only says "something changed"; the page then asks the change poll, whose cursor makes sure no
change is missed or applied twice. Without the stream, the page polls as before."""
