-- A nurse's special-group marks (特殊人群标记) over what HIS sent in
-- `special`: {"added": [...], "removed": [...]}. The registration's groups
-- are (special ∪ added) \ removed; a HIS message sent again replaces
-- `special` only.
ALTER TABLE visits ADD COLUMN special_staff TEXT NOT NULL DEFAULT '{"added":[],"removed":[]}';
