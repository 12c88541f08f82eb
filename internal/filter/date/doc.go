// Package date finds and parses the timestamp in a log line the way
// Fail2ban's date detector does (fail2ban/server/datedetector.py,
// datetemplate.py, strptime.py), so that Fail2ban filters and their
// datepattern values give the same dates.
//
// A Detector holds a list of templates; Find tries them on a line and returns
// the instant and the byte span of the date text, which the filter engine
// cuts out of the line before its regexes run (as Fail2ban does). A State per
// stream keeps Fail2ban's adaptive order: the last template that matched is
// tried first, at the same place in the line, and templates that keep
// winning move to the front.
//
// # Templates
//
// Default() has Fail2ban's 17 default formats, each (unless anchored itself)
// once as a copy anchored at the line begin, tried first, and once anywhere
// in the line, 31 templates:
//
//	ISO 8601      2005-01-23T21:59:59.981746+01:00, 2005/01/23 21:59:59, 2006.12.21 06:43:20, 2005-01-23  8:59:59
//	syslog        [Sun ]Jan 23 21:59:59[.011][ 2005]
//	ctime         [Sun ]Jan 23 2005 21:59:59[.011]
//	d/m/Y         23/01/2005 21:59:59, 23/01/05 21:59:59, 17-07-2008 17:23:25
//	Apache/CLF    23/Jan/2005:21:59:59 +0100, 26-Jul-2007 15:20:52.252 +0200
//	CPanel        05/20/2008:01:57:39
//	m-d-Y         01-27-2012 16:22:44.252
//	EPOCH         1106513999[.000], [1106513999], audit(1106513999.000:987)
//	time only     21:59:59 (line begin only; today, or yesterday if in the future)
//	<m/d/y@H:M:S> <09/16/08@05:03:30> (line begin only)
//	MySQL         130322 11:46:11
//	Tomcat        Jan 23, 2005 9:59:59 PM
//	ASSP          Apr-27-13 02:33:06 (line begin only)
//	compact ISO   20050123T215959, 20050123 215959[.123][+0100]
//	zone name     PDT Apr 16 21:05:29
//	zone offset   +00:00 Jan 23 21:59:59.011 2005
//	TAI64N        @4000000041f4104f00000000
//
// Compile reads a datepattern value (see Compile for the syntax). The
// templates nearly every line hits have hand-written matchers that allocate
// nothing (about 50 ns a line): the line-begin ISO 8601 and syslog templates
// ({^LN-BEG}, Default), CLF dates under ^[^\[]*\[({DATE}) (the web-log
// filters) and ISO dates under ^<\d+>\d+\s+{DATE} (RFC 5424). Every other
// template runs its Fail2ban regex, translated to github.com/dlclark/regexp2,
// which has the lookarounds, backreferences and conditionals Fail2ban's
// templates use (a few microseconds a line). A differential test and a fuzzer
// check each hand-written matcher against its regex; where the regex could
// backtrack to another answer the matcher defers to it.
// All datepattern values of the filters Fail2ban 1.0.2 ships compile and run
// with their exact regexes; none needs a degraded form.
//
// Rules kept from Fail2ban: a date without a year takes now's year, or the
// year before if that is more than a day in the future; a date without a day
// is today, or yesterday if in the future; %y is 2000+yy; month and day names
// are English, any case; a date without a zone is wall-clock time in the loc
// passed to Find (Fail2ban: local time or logtimezone); zone names (%z, %Z,
// %Exz) are fixed offsets from Fail2ban's table (CEST is always +02:00); the
// date must start and end at a word boundary unless the pattern says
// otherwise ({UNB}, **, ^, $).
//
// # Differences from Fail2ban
//
//   - %ExY matches the years 2000-2099. Fail2ban builds it from the current
//     date (in 2026: 2000-2029).
//   - Text that matches a template but is not a valid date (February 30, hour
//     24-29 from %k, second 60, Feb 29 moved to a non-leap year, a zone name
//     missing from the table) does not match: the search goes on with the
//     next template. Fail2ban takes the match, cuts the text out and gives the
//     line no date (or, for an unknown zone name, fails on the line).
//   - Match.Time keeps fractions of a second (%f, epoch fractions, TAI64N
//     nanoseconds). Fail2ban drops %f and TAI64N nanoseconds. Truncate to the
//     second to compare.
//   - The one-day rule for a missing year and the yesterday rule compare
//     instants; Fail2ban compares naive date-times, which for a line that has
//     a zone but no year shifts the threshold by the zone's offset.
//   - Local times go through Go's time.Date; a wall-clock time that does not
//     exist or exists twice at a DST change may resolve to the other offset
//     than Python's mktime does.
//   - {DATE} around EPOCH or TAI64N parses the number as a Unix time or TAI64N
//     label. Fail2ban turns those two into strptime templates without fields,
//     which give midnight today.
//   - Adaptive order: Fail2ban's "next template still unused" test reads hit
//     counts shared by every detector in the process; here they are per
//     State. The surroundings of the last match are compared as bytes, not
//     characters (the same for ASCII). Template age uses the now passed in.
//   - Only the first 16 KiB of a line are searched.
//   - Regex dialect: patterns run on regexp2 (.NET). \d, \w, \s and \b are
//     Unicode in both, with slightly different tables; Python-only syntax is
//     not translated: {,n}, atomic groups and possessive quantifiers, and a
//     numbered conditional (?(1)...) counts groups the .NET way. A regex
//     search that runs over 250 ms counts as no match.
//   - Compile checks the whole pattern at once, where Fail2ban finds some
//     errors only at the first match.
//   - Extensions: %s (seconds since 1970) and %e (day, as %d).
//   - {NONE} matches every line with an empty span and Time = now. Fail2ban
//     then uses the previous line's date if it is less than 60 s old; so
//     does any pattern whose date group matches empty (^WARNING:()**); that
//     rule is the caller's.
package date
