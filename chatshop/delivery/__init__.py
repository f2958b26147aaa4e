"""The delivery runtime: what leaves chatshop for the platforms, once per process.

- ``outcome``: what a platform says of one message (a closed type) and ``Platform``,
  the small protocol a channel implements to be delivered through;
- ``outbox``: the notifications for other people, kept until their platform takes them;
- ``broadcast``: the weekly digest run, each subscriber once, at the digest's pace;
- ``scheduler``: the jobs a process runs once (the reservations sweep, the outbox, the
  digest, the clean-up), whatever channels it serves.
"""
