package p

import "context"

// Idle runs until cancelled.
func Idle(ctx context.Context) error { <-ctx.Done(); return nil }

// Health is also the accessor of the child health.
func (t *Shop) Health() string { return "fine" }

// Run is also the generated Run.
func (t *Shop) Run() {}

// tree is also the generated type's field.
func (t Shop) tree() {}

// Handle is also the generated Handle of the nested supervisor.
func (s *ShopJobs) Handle() {}

// arborHandle is also the method the generated accessors of workers call.
func (s *ShopJobs) arborHandle() {}

// Describe is a method of the package's own on the generated type: fine.
func (t *Shop) Describe() string { return "shop" }
