package gen

import (
	"go/token"
	"go/types"
)

// locker is the method set of sync.Locker.
var locker = func() *types.Interface {
	sig := types.NewSignatureType(nil, nil, nil, nil, nil, false)
	return types.NewInterfaceType([]*types.Func{
		types.NewFunc(token.NoPos, nil, "Lock", sig),
		types.NewFunc(token.NoPos, nil, "Unlock", sig),
	}, nil).Complete()
}()

// lockIn returns the type of the lock that copying a value of type t would
// copy, as go vet's copylocks check finds it, or nil. A lock is a type
// whose pointer has Lock and Unlock methods while the type itself has not
// (sync.Mutex; sync/atomic's values hold one). In a struct, it is the type
// of the field that holds the lock.
func lockIn(t types.Type) types.Type {
	return lockInSeen(t, map[types.Type]bool{})
}

func lockInSeen(t types.Type, seen map[types.Type]bool) types.Type {
	t = types.Unalias(t)
	if seen[t] {
		return nil
	}
	seen[t] = true
	switch u := t.Underlying().(type) {
	case *types.Array:
		return lockInSeen(u.Elem(), seen)
	case *types.Struct:
		if _, ok := t.(*types.Named); ok && types.Implements(types.NewPointer(t), locker) && !types.Implements(t, locker) {
			return t
		}
		for i := range u.NumFields() {
			if f := u.Field(i).Type(); lockInSeen(f, seen) != nil {
				return f // the field's type, more telling than the lock deep inside
			}
		}
	}
	return nil
}
