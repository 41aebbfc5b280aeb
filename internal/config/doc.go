// Package config holds run-time configuration the way Redis operators know
// it: a Table of parameters that CONFIG GET, CONFIG SET and CONFIG REWRITE
// work on, and files in redis.conf syntax.
//
// # File format
//
// A configuration file has one directive per line: a name followed by its
// arguments, separated by blanks. Blank lines and lines whose first
// non-blank character is # are comments. Arguments are split as Redis's
// sdssplitargs splits them:
//
//   - "double quoted" arguments take the escapes \n \r \t \b \a \\ \" and
//     \xHH (two hex digits); any other escaped character stands for itself;
//   - 'single quoted' arguments take only \' as an escape;
//   - a closing quote must be followed by a blank or the end of the line,
//     and a quote left open is an error.
//
// The directive "include FILE" reads FILE in its place; a relative FILE is
// relative to the directory of the file that includes it. A file that
// includes itself, directly or through others, is an error.
//
// Rewrite updates the main file in place, as CONFIG REWRITE does: comments
// and lines of other names are kept, the first line of a parameter is
// replaced, later ones are dropped, and parameters the file did not name are
// appended. Included files are never written.
package config
