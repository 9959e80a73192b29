"""Connectors to the UN's own sources: the only part of Fahras that uses the network.

- :mod:`fahras.connectors.unbis`: download the UNBIS Thesaurus SKOS dump.
- :mod:`fahras.connectors.undl`: harvest UN Digital Library records (MARCXML)
  and their full texts.
- :mod:`fahras.connectors.build`: turn MARCXML records and texts (downloaded
  or already on disk) into a training corpus; no network.
- :mod:`fahras.connectors.http`: the HTTP client both use (timeouts, rate
  limit, retries, atomic downloads).

Layering: connectors sit above ``text`` (they extract PDFs) and below ``cli``.
"""
