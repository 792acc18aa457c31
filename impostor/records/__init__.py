"""What is kept: the hash-chained audit log of every decision and what followed it, and its review.

Modules::

    audit        ``AuditLog``: open, append a decision or an event, read, purge, verify the chain
    audit_rows   the tables and columns, records and events as named results, text checks
    audit_chain  each record's hash over the one before, and the walk that verifies both chains
    review       the supervisors' view of a log: decisions against outcomes, exported as CSV

It imports only the foundation; the pipeline, the services and the station write through it.
"""
