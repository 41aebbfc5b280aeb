package script

import (
	"context"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// reg is one redis.register_function of a library being loaded.
type reg struct {
	fn *Function
	cb *lua.LFunction
}

// newLoadAPI returns, from the redis table before it is made read-only,
// the globals a library's code sees while it loads, as
// in Redis 7.0: only redis, with register_function, log and the LOG_
// levels and version constants. Every other name is missing.
func (st *state) newLoadAPI() *lua.LTable {
	L := st.L
	api := L.NewTable()
	r := L.NewTable()
	r.RawSetString("register_function", L.NewFunction(st.registerFunction))
	if full, ok := st.real.RawGetString("redis").(*lua.LTable); ok {
		for _, name := range []string{"log", "LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING", "REDIS_VERSION", "REDIS_VERSION_NUM"} {
			if v := full.RawGetString(name); v != lua.LNil {
				r.RawSetString(name, v)
			}
		}
	}
	api.RawSetString("redis", st.readonly(r, true))
	return api
}

// registerFunction is redis.register_function(name, callback) or
// redis.register_function{function_name=, callback=, flags=, description=}.
func (st *state) registerFunction(L *lua.LState) int {
	if st.regs == nil {
		st.raise(L, "redis.register_function can only be called on FUNCTION LOAD command")
	}
	fn := &Function{}
	var cb *lua.LFunction
	switch L.GetTop() {
	case 1:
		t, ok := L.Get(1).(*lua.LTable)
		if !ok {
			st.raise(L, "calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).")
		}
		var bad string
		named := false
		t.ForEach(func(k, v lua.LValue) {
			if bad != "" {
				return
			}
			switch lua.LVAsString(k) {
			case "function_name":
				if s, ok := luaString(v); ok {
					fn.Name, named = s, true
				} else {
					bad = "function_name argument given to redis.register_function must be a string"
				}
			case "description":
				if s, ok := luaString(v); ok {
					fn.Description, fn.HasDesc = s, true
				} else {
					bad = "description argument given to redis.register_function must be a string"
				}
			case "callback":
				if f, ok := v.(*lua.LFunction); ok {
					cb = f
				} else {
					bad = "callback argument given to redis.register_function must be a function"
				}
			case "flags":
				ft, ok := v.(*lua.LTable)
				if !ok {
					bad = "flags argument to redis.register_function must be a table representing function flags"
					return
				}
				ft.ForEach(func(_, f lua.LValue) {
					name, _ := f.(lua.LString)
					fl := flagNamed(string(name))
					if fl == 0 && bad == "" {
						bad = "unknown flag given"
					}
					fn.Flags |= fl
				})
			default:
				bad = "unknown argument given to redis.register_function"
			}
		})
		if bad != "" {
			st.raise(L, bad)
		}
		if !named {
			st.raise(L, "redis.register_function must get a function name argument")
		}
		if cb == nil {
			st.raise(L, "redis.register_function must get a callback argument")
		}
	case 2:
		s, ok := luaString(L.Get(1))
		if !ok {
			st.raise(L, "first argument to redis.register_function must be a string")
		}
		fn.Name = s
		f, ok := L.Get(2).(*lua.LFunction)
		if !ok {
			st.raise(L, "second argument to redis.register_function must be a function")
		}
		cb = f
	default:
		st.raise(L, "wrong number of arguments to redis.register_function")
	}
	if !validName(fn.Name) {
		st.raise(L, ErrBadName.Error())
	}
	for _, r := range st.regs {
		if strings.EqualFold(r.fn.Name, fn.Name) {
			st.raise(L, "Function already exists in the library")
		}
	}
	st.regs = append(st.regs, reg{fn: fn, cb: cb})
	return 0
}

// luaString returns v as a string when Lua would: a string or a number.
func luaString(v lua.LValue) (string, bool) {
	switch v := v.(type) {
	case lua.LString:
		return string(v), true
	case lua.LNumber:
		return v.String(), true
	}
	return "", false
}

// runLib runs lib's code in st with the load globals and returns what it
// registered; the callbacks are kept in st for FCALL. The run context of
// the state, if any, is set aside while the code runs.
func (st *state) runLib(lib *Library) ([]reg, error) {
	L := st.L
	saved := L.RemoveContext()
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	L.SetContext(ctx)
	defer func() {
		cancel()
		L.RemoveContext()
		if saved != nil {
			L.SetContext(saved)
		}
	}()
	st.regs = make([]reg, 0, 4)
	st.gsrc = st.loadAPI
	line := st.line
	st.line = 0
	fn := L.NewFunctionFromProto(lib.proto)
	fn.Env = st.global
	top := L.GetTop()
	L.Push(fn)
	err := L.PCall(0, 0, st.handler)
	L.SetTop(top)
	st.gsrc = st.real
	regs := st.regs
	st.regs = nil
	st.line = line
	if err != nil {
		if ctx.Err() != nil {
			return nil, errorf("ERR Error registering functions: ERR FUNCTION LOAD timeout")
		}
		return nil, errorf("ERR Error registering functions: ", st.errorText(err, nil))
	}
	if len(regs) == 0 {
		return nil, ErrNoFunctions
	}
	cbs := make(map[string]*lua.LFunction, len(regs))
	for _, r := range regs {
		cbs[strings.ToLower(r.fn.Name)] = r.cb
	}
	st.libs[lib] = cbs
	return regs, nil
}

// callback returns fn's Lua function in st, running its library's code
// there first if it has not run since the libraries last changed.
func (st *state) callback(fn *Function) (*lua.LFunction, error) {
	if g := st.e.Funcs.gen.Load(); g != st.libGen {
		clear(st.libs)
		st.libGen = g
	}
	cbs := st.libs[fn.Lib]
	if cbs == nil {
		if _, err := st.runLib(fn.Lib); err != nil {
			return nil, err
		}
		cbs = st.libs[fn.Lib]
	}
	cb := cbs[strings.ToLower(fn.Name)]
	if cb == nil {
		return nil, errorf("ERR Function not found")
	}
	return cb, nil
}
