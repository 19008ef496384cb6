"""The simulated environment: loopback DNS server, test CA and fake CodeStream API.

Used by the tests and by ``codestream-bastion demo``; everything in here binds
to 127.0.0.1 and talks to nothing else.
"""
