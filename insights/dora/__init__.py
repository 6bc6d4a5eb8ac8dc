"""DORA's five software delivery metrics, computed on request from the raw runs, jobs, commits and rollbacks.

`selectors` is the public face (the API and the Delivery page call it); `history` reads and classifies
production deployments, `lead_times` reads commits, `scope` holds the filters, `buckets` lays days out,
`levels` rates a figure, `rows` fetches without Django's converters. `params`, `views`, `schema` and `urls`
are the `/api/v1/dora/` endpoints.
"""
