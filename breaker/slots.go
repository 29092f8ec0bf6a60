package breaker

// slots are the trial slots of the current half-open period that Allow,
// Execute and Run hand out, guarded by the breaker's lock. Each slot counts
// its uses: odd while a trial holds it, even while it is free. A trial's
// ticket carries its slot and the use it got, so that recording it frees the
// slot only while that use lasts: a second record of the same trial (a copy
// of a Permit) finds the slot free, or held by a later trial, and frees
// nothing. At every change of state the slots are cleared; the generation in
// the tickets of the earlier period's trials keeps them from freeing any slot
// of a later one.
type slots struct {
	uses []uint32 // per slot
	idle []uint32 // the free slots, reused before new ones are added
}

// take gives a trial a slot, and returns the slot and its use for its
// ticket. The slots grow to the most trials in flight at once, at most
// HalfOpenMaxRequests, and are reused after that: taking allocates only
// while they grow.
func (s *slots) take() uint64 {
	var i uint32
	if n := len(s.idle); n > 0 {
		i = s.idle[n-1]
		s.idle = s.idle[:n-1]
	} else {
		i = uint32(len(s.uses))
		s.uses = append(s.uses, 0)
	}
	s.uses[i]++
	return uint64(i)<<32 | uint64(s.uses[i])
}

// free frees the slot of a ticket if the trial still holds it, and reports
// whether it did.
func (s *slots) free(slot uint64) bool {
	i, use := uint32(slot>>32), uint32(slot)
	if int(i) >= len(s.uses) || s.uses[i] != use || use%2 == 0 {
		return false
	}
	s.uses[i]++
	s.idle = append(s.idle, i)
	return true
}

// clear frees every slot, keeping the memory for the next half-open period.
func (s *slots) clear() {
	s.uses, s.idle = s.uses[:0], s.idle[:0]
}
