"""Labels: the set admins manage (their page), put on conversations from the thread."""
