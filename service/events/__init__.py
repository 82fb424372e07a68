"""The outbox: every state change of a request is written here in the same transaction.

Consumers (notices, feeds push) read it from the worker process; nothing here sends anything.
"""
