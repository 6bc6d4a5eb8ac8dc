"""The steps of one DescribeCdnOriginData answer, in the order `cdnorigin.selectors` runs them:
`cdnorigin.params` (parse) -> `plan` -> `read` -> `patch` -> `shape` -> `render`. Each is called once, in
that order, and none calls back up the list; `series` holds the data they hand along."""
