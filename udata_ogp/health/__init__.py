"""Link health: what a link's target looks like now, and what the plugin does about it.

Layers, bottom up: `rules` (pure verdicts, no I/O), `storage` (raw collections and grouped bulk
writes), `probe` (the optional URL probe), `sweep` (links and targets read in batches, verdicts
written), `tagging` (`ogp-…` tags as links), `linkcheck` (the job body: tags, sweep, roll-up in
one pass), `notices` (opt-in e-mail digests of what changed).
"""
