"""Rosters and the district reports: a whole district's enterprises at once, column-wise
(:mod:`.roster` reads, converts and writes; :mod:`.reports` counts progress against 附件2, lists
the 应评尽评 pool and compares two versions of the policy)."""
