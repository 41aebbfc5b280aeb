// Package notify is Redis's keyspace notifications: the classes of events
// a server publishes (the notify-keyspace-events parameter) and the
// publication of one event on its two channels,
//
//	__keyspace@0__:<key>    with the event as the message, and
//	__keyevent@0__:<event>  with the key as the message.
//
// Commands report what they changed through a Notifier, from whatever
// goroutine runs them. When notifications are off, which is the default,
// reporting an event costs one atomic load.
package notify

import (
	"errors"
	"sync/atomic"
)

// Class is a set of event classes, with the bits Redis 7.0 gives them.
type Class uint32

// The event classes, each with the letter notify-keyspace-events names it by.
const (
	Keyspace Class = 1 << iota // K: publish on __keyspace@0__:<key>
	Keyevent                   // E: publish on __keyevent@0__:<event>
	Generic                    // g: DEL, EXPIRE, RENAME, … (commands of no type)
	String                     // $
	List                       // l
	Set                        // s
	Hash                       // h
	ZSet                       // z
	Expired                    // x: a key removed because its time had come
	Evicted                    // e: a key removed for maxmemory
	Stream                     // t
	KeyMiss                    // m: a read found no key
	Module                     // d: module events (none here)
	New                        // n: a key was created

	// All is what the letter A stands for: every class but K, E, m and n.
	All = Generic | String | List | Set | Hash | ZSet | Expired | Evicted | Stream | Module
)

// ErrText is the reason Redis gives for a notify-keyspace-events value
// with a letter it does not know.
const ErrText = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."

// ErrClass is ErrText as an error, for CONFIG SET.
var ErrClass = errors.New(ErrText) //lint:ignore ST1005 Redis's text

// Parse returns the classes the letters of s name, as Redis's
// keyspaceEventsStringToFlags reads them; ok is false for a letter it
// does not know.
func Parse(s []byte) (c Class, ok bool) {
	for _, b := range s {
		switch b {
		case 'A':
			c |= All
		case 'g':
			c |= Generic
		case '$':
			c |= String
		case 'l':
			c |= List
		case 's':
			c |= Set
		case 'h':
			c |= Hash
		case 'z':
			c |= ZSet
		case 'x':
			c |= Expired
		case 'e':
			c |= Evicted
		case 'K':
			c |= Keyspace
		case 'E':
			c |= Keyevent
		case 't':
			c |= Stream
		case 'm':
			c |= KeyMiss
		case 'd':
			c |= Module
		case 'n':
			c |= New
		default:
			return 0, false
		}
	}
	return c, true
}

// String returns the letters of c in the canonical order CONFIG GET
// reports them in, as Redis 7.0's keyspaceEventsFlagsToString writes
// them: A stands for All, and then n is left out, as Redis 7.0 does.
func (c Class) String() string {
	var b []byte
	if c&All == All {
		b = append(b, 'A')
	} else {
		for _, l := range []struct {
			c Class
			b byte
		}{{Generic, 'g'}, {String, '$'}, {List, 'l'}, {Set, 's'}, {Hash, 'h'}, {ZSet, 'z'},
			{Expired, 'x'}, {Evicted, 'e'}, {Stream, 't'}, {Module, 'd'}, {New, 'n'}} {
			if c&l.c != 0 {
				b = append(b, l.b)
			}
		}
	}
	if c&Keyspace != 0 {
		b = append(b, 'K')
	}
	if c&Keyevent != 0 {
		b = append(b, 'E')
	}
	if c&KeyMiss != 0 {
		b = append(b, 'm')
	}
	return string(b)
}

// Publish delivers msg to the subscribers of channel. It must not block
// and must be safe for concurrent use; it must not keep channel or msg.
type Publish func(channel, msg []byte)

// Notifier publishes the events of the classes it is set to. Its methods
// are safe for concurrent use; a nil *Notifier publishes nothing.
type Notifier struct {
	classes *atomic.Uint32 // shared with the Notifiers made by When
	pub     Publish
	on      func() bool // nil, or whether to publish now (see When)
}

// NewNotifier returns a Notifier that publishes through pub, with every
// class off.
func NewNotifier(pub Publish) *Notifier { return &Notifier{classes: new(atomic.Uint32), pub: pub} }

// When returns a Notifier that publishes as n does, with n's classes
// (Set on either changes both), but only while on reports true: a
// replicated keyspace publishes its events only on the replica that
// answers the command. on is called on the goroutine that reports the
// event.
func (n *Notifier) When(on func() bool) *Notifier {
	return &Notifier{classes: n.classes, pub: n.pub, on: on}
}

// Set makes c the classes published from now on.
func (n *Notifier) Set(c Class) { n.classes.Store(uint32(c)) }

// Classes returns the classes published.
func (n *Notifier) Classes() Class {
	if n == nil {
		return 0
	}
	return Class(n.classes.Load())
}

// On reports whether an event of class c would be published.
func (n *Notifier) On(c Class) bool {
	if n == nil {
		return false
	}
	cs := Class(n.classes.Load())
	return cs&c != 0 && cs&(Keyspace|Keyevent) != 0 && (n.on == nil || n.on())
}

// Event publishes event of class c on key, if c is on: the event on
// key's keyspace channel (with K), and the key on the event's keyevent
// channel (with E), in that order, as Redis does.
func (n *Notifier) Event(c Class, event string, key []byte) {
	if n == nil {
		return
	}
	cs := Class(n.classes.Load())
	if cs&c == 0 || n.on != nil && !n.on() {
		return
	}
	if cs&Keyspace != 0 {
		ch := make([]byte, 0, len(keyspacePrefix)+len(key))
		ch = append(append(ch, keyspacePrefix...), key...)
		n.pub(ch, []byte(event))
	}
	if cs&Keyevent != 0 {
		ch := make([]byte, 0, len(keyeventPrefix)+len(event))
		ch = append(append(ch, keyeventPrefix...), event...)
		n.pub(ch, key)
	}
}

const (
	keyspacePrefix = "__keyspace@0__:"
	keyeventPrefix = "__keyevent@0__:"
)
