"""The SMTP sink now lives in the test kit (:mod:`billing_testkit.smtp_sink`); this name
stays for the tests, the demo and the benchmark: ``from tests.support.smtp_sink import
SmtpSink`` and ``python -m tests.support.smtp_sink --port 1025 ...`` work as before."""

from billing_testkit.smtp_sink import Received, SmtpSink, free_port, last_number, main

__all__ = ["Received", "SmtpSink", "free_port", "last_number", "main"]

if __name__ == "__main__":
    main()
