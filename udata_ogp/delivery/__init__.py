"""Verified delivery (issue 12): deliverables that the portal's own data proves.

- `rules`: pure rules (does a dataset satisfy a deliverable's rules, its state, the commitment's
  discrepancy, title similarity, what a proof holds); no database, no Flask.
- `sweep`: the batched evaluation run after the link sweep (one read per class of candidates,
  one bulk write of what changed), proofs, history, the commitments' `verification` roll-up,
  and the proposals of the review queue.
- `actions`: writes with permission checks (deliverables; accepting or rejecting proposals).
"""
