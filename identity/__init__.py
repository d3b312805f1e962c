"""Staff accounts, sign-in, sessions, desk and member keys, reporter sessions; no Flask, no app."""
