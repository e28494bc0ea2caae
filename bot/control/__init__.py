"""The control database: the job queue, webhook deliveries, approvals, published analyses.

One PostgreSQL database (`SCHEMAWARDEN_CONTROL_URL`, else `schemawarden_control` on the embedded
server) shared by every web replica and worker; PostgreSQL (transactions, advisory locks,
`SKIP LOCKED`) is their only coordinator.

* `database`: `control_url(settings)`, `connect(url)`, `connect_async(url)`, errors naming no URL;
* `schema`: `setup(url)` (install or upgrade, safe concurrently), `schema_status(conn)`;
* `queue`: the queue library's names (schema `schemawarden_queue`) and `queries(conn)`;
* `deliveries`: `record_delivery` (in the webhook's transaction);
* `approvals`: `record_approval`, `standing_approvals`, `mark_applied`, `revoke_approvals`,
  `record_refusal`, `refusals`;
* `analyses`: `publication(...)`, so an older analysis never overwrites a newer comment, and
  `pull_request_lock(...)` for other changes of the comment.
"""
