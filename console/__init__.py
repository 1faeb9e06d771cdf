"""The clerk's web console: server-rendered pages over the four services' HTTP APIs.

It owns no business data. Every page needs a signed-in clerk, and every call it makes
to a service names that clerk in ``X-Actor``, so the services' audit trails name a
person, not "api".
"""
