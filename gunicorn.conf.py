"""gunicorn's settings for the hotline, read by `gunicorn app:app` started in this folder
(or named with `-c`). Command-line options override them."""

# Access log lines without the query string (%(U)s is the path alone): our own URLs carry
# the call's state, and a webhook misconfigured as GET would carry the caller's number and
# speech. Off unless --access-logfile is given.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'
