"""Notifications: who is told what (notify.py), their preferences (prefs.py), the list and its
count (views.py), and the email digest for whoever has no Keloa tab open (digest.py). Browser
delivery rides on the live stream (keloa_web/live/)."""
