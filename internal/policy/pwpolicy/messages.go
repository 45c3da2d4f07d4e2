package pwpolicy

import "fmt"

// Message is one thing a user is told about a password. Code is a stable
// identifier the UI translates by (docs/password-policy.md lists the
// Simplified Chinese text of each); Text is the English rendering; Args
// holds the numbers Text was built from, under the names the translations
// use.
type Message struct {
	Code string         `json:"code"`
	Text string         `json:"text"`
	Args map[string]any `json:"args,omitempty"`
}

// Message codes of the checks.
const (
	CodeTooShort       = "password.too_short"         // args: min, count
	CodeTooFewDigits   = "password.too_few_digits"    // args: min, count
	CodeTooFewUpper    = "password.too_few_uppercase" // args: min, count
	CodeTooFewLower    = "password.too_few_lowercase" // args: min, count
	CodeTooFewSymbols  = "password.too_few_symbols"   // args: min, count, charset
	CodeCustom         = "password.custom"            // the admin's error_message; args: failed (codes)
	CodeCommon         = "password.common"
	CodeTooWeak        = "password.too_weak" // args: score, threshold
	codeFeedbackPrefix = "password.feedback."
	codeSuggestPrefix  = "password.suggestion."
)

// Codes of the strength feedback (zxcvbn's warnings and suggestions).
const (
	CodeTop10             = codeFeedbackPrefix + "top10"
	CodeTop100            = codeFeedbackPrefix + "top100"
	CodeVeryCommon        = codeFeedbackPrefix + "very_common"
	CodeSimilarToCommon   = codeFeedbackPrefix + "similar_to_common"
	CodeWordByItself      = codeFeedbackPrefix + "word_by_itself"
	CodeNamesByThemselves = codeFeedbackPrefix + "names_by_themselves"
	CodeCommonNames       = codeFeedbackPrefix + "common_names"
	CodeUserInputs        = codeFeedbackPrefix + "user_inputs"
	CodeStraightRows      = codeFeedbackPrefix + "straight_rows"
	CodeKeyboardPattern   = codeFeedbackPrefix + "keyboard_patterns"
	CodeRepeatsSingle     = codeFeedbackPrefix + "repeats_single"
	CodeRepeats           = codeFeedbackPrefix + "repeats"
	CodeSequences         = codeFeedbackPrefix + "sequences"
	CodeRecentYears       = codeFeedbackPrefix + "recent_years"
	CodeDates             = codeFeedbackPrefix + "dates"

	CodeUseWords         = codeSuggestPrefix + "use_words"
	CodeNoNeedSymbols    = codeSuggestPrefix + "no_need_symbols"
	CodeAddWord          = codeSuggestPrefix + "add_word"
	CodeCapitalization   = codeSuggestPrefix + "capitalization"
	CodeAllUppercase     = codeSuggestPrefix + "all_uppercase"
	CodeReversed         = codeSuggestPrefix + "reversed"
	CodeL33t             = codeSuggestPrefix + "l33t"
	CodeLongerKeyboard   = codeSuggestPrefix + "longer_keyboard"
	CodeAvoidRepeats     = codeSuggestPrefix + "avoid_repeats"
	CodeAvoidSequences   = codeSuggestPrefix + "avoid_sequences"
	CodeAvoidRecentYears = codeSuggestPrefix + "avoid_recent_years"
	CodeAvoidAssocYears  = codeSuggestPrefix + "avoid_associated_years"
	CodeAvoidDates       = codeSuggestPrefix + "avoid_dates"
)

// fixedTexts is the English of every message without arguments (zxcvbn's
// own wording for the feedback, so users who know it recognise it).
var fixedTexts = map[string]string{
	CodeCommon:            "This password is on a list of commonly used passwords.",
	CodeTop10:             "This is a top-10 common password.",
	CodeTop100:            "This is a top-100 common password.",
	CodeVeryCommon:        "This is a very common password.",
	CodeSimilarToCommon:   "This is similar to a commonly used password.",
	CodeWordByItself:      "A word by itself is easy to guess.",
	CodeNamesByThemselves: "Names and surnames by themselves are easy to guess.",
	CodeCommonNames:       "Common names and surnames are easy to guess.",
	CodeUserInputs:        "Avoid your name, username or email address in a password.",
	CodeStraightRows:      "Straight rows of keys are easy to guess.",
	CodeKeyboardPattern:   "Short keyboard patterns are easy to guess.",
	CodeRepeatsSingle:     `Repeats like "aaa" are easy to guess.`,
	CodeRepeats:           `Repeats like "abcabcabc" are only slightly harder to guess than "abc".`,
	CodeSequences:         "Sequences like abc or 6543 are easy to guess.",
	CodeRecentYears:       "Recent years are easy to guess.",
	CodeDates:             "Dates are often easy to guess.",
	CodeUseWords:          "Use a few words, avoid common phrases.",
	CodeNoNeedSymbols:     "No need for symbols, digits, or uppercase letters.",
	CodeAddWord:           "Add another word or two. Uncommon words are better.",
	CodeCapitalization:    "Capitalization doesn't help very much.",
	CodeAllUppercase:      "All-uppercase is almost as easy to guess as all-lowercase.",
	CodeReversed:          "Reversed words aren't much harder to guess.",
	CodeL33t:              "Predictable substitutions like '@' instead of 'a' don't help very much.",
	CodeLongerKeyboard:    "Use a longer keyboard pattern with more turns.",
	CodeAvoidRepeats:      "Avoid repeated words and characters.",
	CodeAvoidSequences:    "Avoid sequences.",
	CodeAvoidRecentYears:  "Avoid recent years.",
	CodeAvoidAssocYears:   "Avoid years that are associated with you.",
	CodeAvoidDates:        "Avoid dates and years that are associated with you.",
}

// AllCodes lists every code this package emits, for translation tables.
func AllCodes() []string {
	codes := []string{CodeTooShort, CodeTooFewDigits, CodeTooFewUpper, CodeTooFewLower,
		CodeTooFewSymbols, CodeCustom, CodeTooWeak}
	return append(codes, fixedOrder...)
}

// fixedOrder keeps AllCodes stable (map order is random).
var fixedOrder = []string{CodeCommon, CodeTop10, CodeTop100, CodeVeryCommon, CodeSimilarToCommon,
	CodeWordByItself, CodeNamesByThemselves, CodeCommonNames, CodeUserInputs, CodeStraightRows,
	CodeKeyboardPattern, CodeRepeatsSingle, CodeRepeats, CodeSequences, CodeRecentYears, CodeDates,
	CodeUseWords, CodeNoNeedSymbols, CodeAddWord, CodeCapitalization, CodeAllUppercase, CodeReversed,
	CodeL33t, CodeLongerKeyboard, CodeAvoidRepeats, CodeAvoidSequences, CodeAvoidRecentYears,
	CodeAvoidAssocYears, CodeAvoidDates}

func fixed(code string) Message { return Message{Code: code, Text: fixedTexts[code]} }

// countMessage is the message of a static rule that wants at least min of
// something and found count.
func countMessage(code string, min, count int) Message {
	var text string
	switch code {
	case CodeTooShort:
		text = fmt.Sprintf("The password must be at least %d characters long.", min)
	case CodeTooFewDigits:
		text = fmt.Sprintf("The password must contain at least %d %s.", min, plural(min, "digit", "digits"))
	case CodeTooFewUpper:
		text = fmt.Sprintf("The password must contain at least %d uppercase %s.", min, plural(min, "letter", "letters"))
	case CodeTooFewLower:
		text = fmt.Sprintf("The password must contain at least %d lowercase %s.", min, plural(min, "letter", "letters"))
	}
	return Message{Code: code, Text: text, Args: map[string]any{"min": min, "count": count}}
}

func symbolsMessage(min, count int, charset string) Message {
	return Message{Code: CodeTooFewSymbols,
		Text: fmt.Sprintf("The password must contain at least %d %s from: %s", min, plural(min, "symbol", "symbols"), charset),
		Args: map[string]any{"min": min, "count": count, "charset": charset}}
}

func tooWeakMessage(score, threshold int) Message {
	return Message{Code: CodeTooWeak, Text: "Password is too weak.",
		Args: map[string]any{"score": score, "threshold": threshold}}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
