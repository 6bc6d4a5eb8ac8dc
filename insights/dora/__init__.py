"""DORA's five software delivery metrics, computed from the raw runs, jobs, commits and rollbacks.

`selectors` is the public face (the API and the Delivery page call it); `history` reads and classifies
production deployments, `lead_times` reads commits, `buckets` lays days out, `levels` rates a figure.
"""
