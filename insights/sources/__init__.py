"""Sources: the CI/CD systems that fill the service themselves (GitHub and GitLab webhooks, a Zadig
server's OpenAPI), as data an operator manages.

A delivery is stored raw before it is applied (`receive`), then applied in a task (`apply`): the runs it
touches are folded again from every stored delivery about them, so the order deliveries arrive in, a
redelivery, or a replay after a mapper fix all end in the same runs. Each kind's mapper (`github`,
`gitlab`, `zadig`) reads payloads without the database and folds them into runs in the ingest API's shape,
which then pass the API's own checks and writes.
"""
