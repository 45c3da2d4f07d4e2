// Package pwpolicy is Authentik's PasswordPolicy: static composition rules,
// a zxcvbn strength estimate and a common-password check, with messages
// that carry stable codes so the UI can translate them (see
// docs/password-policy.md for the English and Simplified Chinese texts).
//
// # Semantics, and where they differ from Authentik
//
// Config uses Authentik's field names and defaults. As in Authentik, the
// password passes when every enabled check passes, and the strength check
// passes when the score is strictly greater than zxcvbn_score_threshold
// (threshold 2 needs a score of 3 or 4; threshold 4 refuses every
// password). Differences, each deliberate:
//
//   - Every broken static rule is reported, not just the first, and each
//     has its own message; a non-empty error_message replaces them all, as
//     Authentik's does.
//   - Characters are counted as Unicode code points with Unicode classes:
//     length_min counts characters, not bytes; "É" is uppercase and "ß"
//     lowercase (Authentik's [A-Z]/[a-z] see neither); letters of scripts
//     without case, such as Chinese characters, count towards the length
//     but are neither uppercase nor lowercase, so a policy with
//     amount_lowercase needs at least that many cased letters; digits are
//     Unicode decimal digits, as Authentik's Python \d.
//   - Authentik's check_have_i_been_pwned asks an online service; we have
//     no such dependency. check_common_passwords refuses a password that,
//     ignoring case and reading l33t substitutes as letters ("P@ssw0rd"),
//     is an entry of the bundled lists. An Authentik payload with
//     check_have_i_been_pwned turns it on; hibp_allowed_count is ignored.
//
// # The strength estimate
//
// Strength is a port of zxcvbn 4.4.2 (Dan Wheeler, Dropbox; MIT), the
// algorithm and data behind the Python zxcvbn that Authentik calls, so
// scores agree with Authentik's: the password is matched against
// dictionaries (also reversed and with l33t substitutions), keyboard runs
// (US qwerty and the numeric keypad), repeats, sequences, years and dates;
// each match is priced in guesses; a dynamic programme finds the cheapest
// way to cover the password with matches and brute force; guesses map to a
// score with zxcvbn's thresholds 10³, 10⁶, 10⁸ and 10¹⁰. Like Authentik,
// only the first 100 characters are analysed (MaxAnalysedRunes), which
// bounds the cost (cubic in the length) at about a millisecond. The tests
// pin scores and guesses against zxcvbn's for a set of passwords.
//
// Deliberate departures from zxcvbn 4.4.2: years 1900–2099 are recognised
// (zxcvbn stops at 2019); every l33t substitute in a password is read
// back at once ("p@55w4rd" is password; zxcvbn tries one substitute per
// letter); the user's inputs are also split into words and email parts,
// and a match on them says so (password.feedback.user_inputs); the Dvorak
// and Mac keypad graphs are left out. The lists are English; words of
// other languages, such as pinyin or Chinese characters, are priced as
// brute force unless the list has them ("woaini" and "5201314" are there).
//
// Why our own port rather than a module: the Go ports on the module proxy
// are github.com/trustelem/zxcvbn (MIT, a faithful port, but no release
// since v1.0.1 in January 2019, lists compiled into Go source, a regexp2
// dependency, and 3.4 MB added to a binary), github.com/nbutton23/zxcvbn-go
// (gone from the proxy) and its fork github.com/ccojocar/zxcvbn-go (ports
// zxcvbn's older entropy model, which scores differently from the Python
// zxcvbn Authentik uses). This port is about 1,600 lines with comments,
// adds about 430 KB to a binary (385 KB of it the word lists) and needs
// no dependency.
//
// # The word lists
//
// wordlists.txt.gz holds zxcvbn 4.4.2's frequency lists, from the npm
// package zxcvbn@4.4.2 (lib/frequency_lists.js; tarball SHA-256
// 0b3ebb60ec2df2340e1b8b70e4cb2657a3ceb192781d299310e7aceaa606cd22),
// licensed MIT, Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc.:
// 30,000 common passwords from Mark Burnett's 10-million-password corpus,
// 30,000 English Wikipedia words, 19,160 words of US television and film
// (Wiktionary), and 14,695 US census first names and surnames — 93,855
// entries, each in the list where it ranks best: 792,785 bytes of text,
// 384,631 gzipped. gen_wordlists.go rebuilds the file (go run gen_wordlists.go
// after npm pack zxcvbn@4.4.2). It is embedded and decompressed once, on
// first use (about 40 ms), into a map of about 4 MiB.
package pwpolicy
