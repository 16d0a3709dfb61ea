/**
 * The phrase lexicon of the prompt-injection heuristics, by family.
 *
 * Weights add up per message; a message whose total reaches 1 is an attack. A phrase gets
 * weight 1 only when benign requests practically never say it (an instruction to drop the
 * instructions, a request for the system prompt, a named jailbreak persona); vocabulary that
 * benign prompts also use ("act as", "uncensored", "roleplay", "system") gets a fraction, so
 * it counts only next to other signals. Phrases match on folded words (normalize.ts), so
 * case, homoglyphs, leetspeak and spaced letters are already undone.
 */
import type { PhraseRule } from './phrases';

/** Heuristic families; each maps to one decision rule id (`injection.<family>`). */
export type InjectionFamily =
  | 'override'
  | 'system_prompt_extraction'
  | 'role_hijack'
  | 'safety_bypass'
  | 'delimiter'
  | 'exfiltration'
  | 'code_execution';

const VERB_IGNORE =
  '{ignore|ignoring|ignores|disregard|disregarding|forget|forgetting|override|overriding|bypass|skip|discard|dismiss|abandon|drop|overwrite|nullify|cancel|revoke|erase|delete|clear|reset|ditch|scrap|neglect|unlearn|suspend|remove}';
const PRIOR =
  '{previous|prior|preceding|above|earlier|before|initial|original|old|former|given|all|any|every|your|these|those|system|developer|safety|openai|ethical|moral|programmed|inbuilt|other|previuos|prevous|pervious|previos|preivous|privious}';
const INSTRUCTIONS =
  '{instruction|instructions|isntructions|insturctions|instrucitons|intructions|instuctions|insructions|instrctions|instructons|instrutions|instrcutions|prompt|prompts|rule|rules|guideline|guidelines|directive|directives|command|commands|constraint|constraints|restriction|restrictions|limitation|limitations|policy|policies|programming|guardrail|guardrails|safeguard|safeguards|filter|filters|training|context|conversation|conversations|messages|orders|text|protocols|principles|regulations|ethics|morals|directions|teachings|conditioning}';
const REVEAL =
  '{repeat|print|show|reveal|display|output|dump|leak|disclose|expose|recite|echo|tell|give|share|spell|quote|provide|send|return|paste|copy|type|write|list|read|state|translate|encode|summarize|summarise|format|put|what|whats}';
const YOUR_PROMPT =
  '{system prompt|system message|system instructions|system instruction|initial prompt|initial instructions|original prompt|original instructions|hidden prompt|hidden instructions|secret instructions|starting instructions|initial configuration|custom instructions|developer instructions|developer message|preprompt|pre prompt|full prompt|entire prompt|prompt above|initialization|initialisation|first instructions|confidential instructions|internal instructions|base prompt|meta prompt|instructions above|instructions you were given|instructions given to you|text above|words above|everything above|content above}';

/** Every phrase rule of the heuristics. */
export const INJECTION_PHRASES: readonly PhraseRule<InjectionFamily>[] = [
  // --- Instruction override -------------------------------------------------------------
  { family: 'override', weight: 1, source: `${VERB_IGNORE} ~3 ${PRIOR} ~3 ${INSTRUCTIONS}` },
  {
    family: 'override',
    weight: 1,
    source: `${VERB_IGNORE} ~2 ${INSTRUCTIONS} {above|before|previously|earlier|given|so far|you were given|you received|you got|you have been given}`,
  },
  {
    family: 'override',
    weight: 1,
    source: `{ignore|disregard|forget} {everything|all} {before|above|previous|prior|earlier|from before|you were told|you've been told|you have been told|you know|you learned|you've learned|that came before|i said before|said before}`,
  },
  {
    family: 'override',
    weight: 1,
    source:
      '{forget|ignore|disregard} {about|} {everything|all} ~2 {instructions|rules|told|learned|programmed|before}',
  },
  {
    family: 'override',
    weight: 1,
    source: `{do not|don't|dont|stop|no longer|never} {follow|following|obey|obeying|adhere to|comply with|listen to} ~3 ${PRIOR} ~2 ${INSTRUCTIONS}`,
  },
  {
    family: 'override',
    weight: 1,
    source: `${PRIOR} ${INSTRUCTIONS} ~2 {are|is|have been|were|has been} {revoked|void|cancelled|canceled|obsolete|invalid|overridden|superseded|null|suspended|lifted|removed|disabled|deprecated|replaced}`,
  },
  {
    family: 'override',
    weight: 1,
    source: `${PRIOR} ${INSTRUCTIONS} ~3 {no longer|do not|don't|dont|doesn't|does not} {apply|matter|count|exist}`,
  },
  {
    family: 'override',
    weight: 1,
    source: `{my|these|the following|this|new|user} {instructions|rules|commands|orders} {take|takes|have|has} {priority|precedence} over`,
  },
  {
    family: 'override',
    weight: 1,
    source:
      '{supersede|supersedes|override|overrides|replace|replaces} ~2 {system|developer|previous|prior|original|all} {instructions|prompt|rules|message|directives}',
  },
  {
    family: 'override',
    weight: 0.6,
    source:
      '{new|updated|revised|real|actual|true|important new|additional secret} {instructions|instruction|directive|directives|rules|orders|system prompt|task|objective|primary goal|primary objective|goal is|mission}',
  },
  { family: 'override', weight: 0.8, source: '{ignore|disregard} the user' },
  {
    family: 'override',
    weight: 0.3,
    source: '{and|then} {reply|respond|answer|say|print|output} {with|only|exactly}',
  },
  {
    family: 'override',
    weight: 1,
    source:
      '{important|urgent|critical} {new|updated|revised} {instructions|instruction|directive|directives|rules|orders}',
  },
  {
    family: 'override',
    weight: 0.8,
    source:
      '{your|the} new {primary|main|only|real|true|} {goal|objective|task|mission|purpose|directive|instructions} {is|are}',
  },
  { family: 'override', weight: 0.5, source: '{ignore|disregard|forget} {all|everything} {and|then|now}' },
  { family: 'override', weight: 0.5, source: "{let's|lets} start fresh" },
  { family: 'override', weight: 0.4, source: 'stop everything' },
  {
    family: 'override',
    weight: 0.6,
    source: '{just|only|simply} {print|say|output|respond with|reply with|repeat}',
  },
  { family: 'override', weight: 0.3, source: 'instead {print|say|output|respond with|reply with|write}' },

  // --- Overrides without the word "instructions" (held-out misses, issue 19) -------------
  {
    family: 'override',
    weight: 1,
    source:
      '{ignore|disregard|forget|skip} {the|all the|this|that|everything|all} {above|previous|preceding|prior|earlier|webpage|web page|page|website|site|document|email|e-mail|article|text|content|context|data|rest|input|message|conversation|passage|review|resume|table} ~4 {and|then|instead|just|only} ~2 {say|print|output|respond|reply|write|tell|answer|return|state|type|repeat}',
  },
  {
    family: 'override',
    weight: 0.6,
    source:
      '{ignore|disregard|forget} {the|my|your|all|those} {last|previous|first|above|preceding|prior|following|next} * {sentences|sentence|lines|line|paragraphs|paragraph|words|messages|message|statements}',
  },
  {
    family: 'override',
    weight: 1,
    source:
      '{ignore|disregard} {the|this|that|all} {above|previous|preceding|prior|earlier} {and|,} {instead|now|just|simply}',
  },

  // --- System prompt extraction -----------------------------------------------------------
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source: `${REVEAL} ~3 {your|the|this|my|entire|full|complete|exact|verbatim|whole|initial|original} ${YOUR_PROMPT}`,
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source: `${REVEAL} ~3 your {instructions|prompt|directives|programming|configuration|guidelines|rules|system|initial|original|context|setup|training instructions}`,
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source: `{what|which|whats} {are|were|is|was|} {your|the} ${YOUR_PROMPT}`,
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source: '{what|which|whats} {are|were|is|was|} your ~1 {instructions|directives|prompt|programming}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source:
      '{what|who} {were|was|have|has} {you|your creator|your developer} ~1 {told|instructed|given|programmed|asked} ~2 {before|at the start|at the beginning|initially|to do|earlier|not to}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source:
      '{everything|all|text|words|content|anything} {above|before|written before|preceding} {this|the|my} {line|message|point|prompt|sentence}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source:
      '{repeat|print|output|show|return|copy|echo|reproduce|recite} ~2 {the|all the|everything|all} ~1 {text|words|content|lines|instructions|messages|everything} {above|before|so far|preceding}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.6,
    source: '{beginning|starting|start|begin|starts|begins} with ~3 you are',
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.3,
    source: '{word for word|verbatim|include everything|in full|in its entirety|character for character}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source: '{repeat|print|output|show|copy|recite} ~3 {entire|whole|full|complete} conversation',
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.6,
    source:
      "{you were|you've been|you have been} {instructed|told|programmed|configured} {to|not to|that|before}",
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.6,
    source: 'your {instructions|system prompt|prompt|directives} {are|is|say|were}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.5,
    source: '{start|begin} your {answer|response|reply|output} with',
  },
  { family: 'system_prompt_extraction', weight: 0.8, source: `your ${YOUR_PROMPT}` },
  {
    family: 'system_prompt_extraction',
    weight: 0.7,
    source: `{see|view|read|get|access|know|have|obtain|check} ~2 the ${YOUR_PROMPT}`,
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source:
      '{repeat|print|output|show|copy|echo|reproduce|recite|translate|summarize|summarise} ~2 {the|all the|everything|all} {above|preceding|previous|earlier|initial} {text|words|content|lines|instructions|messages|prompt}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source: `${REVEAL} ~2 {initialization|initialisation|init} {string|prompt|text|instructions|message}`,
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.7,
    source: 'the {system prompt|system message|hidden prompt|initial prompt} {is|was|says|reads}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.6,
    source:
      '{what|which} {are|is} you {not supposed|forbidden|not allowed|instructed} to {tell|say|reveal|share|do}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.6,
    source: `{opposite|translation|summary|encoding} of your ${YOUR_PROMPT}`,
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.3,
    source: '{system prompt|systemprompt|system instructions|initial prompt|system message}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.4,
    source:
      '{show|display|print|dump|reveal|output} ~2 {system|internal|hidden|initial} {configuration|config|settings|prompt|logs|data|variables}',
  },

  // --- Short extraction requests (held-out misses, issue 19) -----------------------------
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source:
      '{repeat|recite|quote|print|output|say|read|spell|type|list} ~2 {the|your|all the|all your} {rules|instructions|guidelines|prompt|directives|constraints} {back|verbatim|word for word|exactly|above|you were given|you have been given|you got}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source:
      '{write|compose|make|create|sing|give me|generate} {a|an|me a|me an} {rap|poem|song|story|haiku|limerick|acrostic|sonnet|rhyme|riddle|ballad} {about|of|using|with|containing|based on|that includes|that contains|summarizing} {your|the} {previous|prior|initial|original|system|hidden|secret|first|above|earlier|starting|own} {instructions|prompt|rules|guidelines|message|directives|instruction}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source:
      '{quote|repeat|print|output|tell me|write|give me|show me|what are|what were|recite} ~4 {words|text|sentences|sentence|message|lines|line|characters|tokens} ~3 {at|in} {the} {very|} {beginning|start|top} of {this|the|our|your} {conversation|chat|prompt|context|document|session|input}',
  },
  {
    family: 'system_prompt_extraction',
    weight: 0.6,
    source:
      '{complete|finish|continue} ~3 {access granted|access grant|password|passcode|secret key|secret code|passphrase|the phrase}',
  },
  // Social engineering without trigger words: an authority claimed to obtain a secret.
  {
    family: 'system_prompt_extraction',
    weight: 1,
    source:
      "{as|i am|i'm|im|this is} {your|the} {boss|manager|supervisor|administrator|admin|developer|creator|owner|ceo|employer|operator|sysadmin|it department|security team} ~8 {password|passwords|passcode|secret|secrets|credentials|api key|api keys|token|access code|system prompt|instructions|the key|secret key}",
  },

  // --- Role hijack / jailbreak personas ---------------------------------------------------
  { family: 'role_hijack', weight: 1, source: 'do anything now' },
  {
    family: 'role_hijack',
    weight: 1,
    source:
      '{dan|developer|jailbreak|jailbroken|god|evil|opposite|dude|stan|chaos|sudo|unrestricted} mode {enabled|activated|on|unlocked|engaged}',
  },
  {
    family: 'role_hijack',
    weight: 1,
    source:
      '{enable|enabled|activate|activated|enter|entering|switch to|in|into|unlock|with} ~1 {dan|developer|jailbreak|jailbroken|god|evil|opposite|dude|stan} mode',
  },
  {
    family: 'role_hijack',
    weight: 1,
    source:
      "{you are|you're|act as|acts as|acting as|pretend to be|become|play|named|called|simulate} ~2 {dan|dude|stan|antigpt|betterdan|devmode|evilbot|mongo tom|ucar}",
  },
  {
    family: 'role_hijack',
    weight: 1,
    source:
      '{act|acting|behave|respond|answer} {as|like} {a|an|} ~1 {unrestricted|unfiltered|uncensored|jailbroken|amoral|unethical|evil|rogue|malicious|unbound|unlimited|lawless|immoral|unchained|unshackled} {ai|assistant|model|chatbot|bot|version|language model|character|entity|system}',
  },
  {
    family: 'role_hijack',
    weight: 1,
    source:
      "{you are|you're|you will be|you will} {no longer|not} {an ai|a language model|an assistant|chatgpt|claude|bound|restricted|limited|constrained|censored|filtered|an ai assistant|a chatbot}",
  },
  {
    family: 'role_hijack',
    weight: 1,
    source:
      "{you are|you're|you are now|you're now|you will be|you have been|you've been|you have|you've} {free|freed|liberated|released|broken free} {of|from} ~2 {restrictions|limitations|rules|constraints|confines|filters|guidelines|policies|censorship|shackles|programming|boundaries|limits}",
  },
  {
    family: 'role_hijack',
    weight: 0.5,
    source:
      '{free|freed|liberated|released|break free} {of|from} ~2 {restrictions|limitations|rules|constraints|confines|filters|guidelines|policies|censorship|shackles|programming|boundaries|limits}',
  },
  {
    family: 'role_hijack',
    weight: 1,
    source:
      '{not|never} {bound|restricted|limited|constrained} by ~2 {rules|restrictions|guidelines|policies|ethics|morals|limitations|filters|openai|laws|principles|constraints}',
  },
  {
    family: 'role_hijack',
    weight: 1,
    source:
      "{doesn't|does not|don't|do not|won't|will not|never} {have to|need to|} {follow|abide by|adhere to|comply with|care about|respect|obey} ~2 {openai|anthropic|content|any|the|its|their|ethical|moral} ~1 {policies|policy|rules|guidelines|ethics|morals|restrictions|filters}",
  },
  { family: 'role_hijack', weight: 0.8, source: '{immerse|immersing} yourself {into|in} the role' },
  { family: 'role_hijack', weight: 0.8, source: '{stay|remain|keep} in character' },
  { family: 'role_hijack', weight: 0.5, source: '{break|breaking|broke} character' },
  {
    family: 'role_hijack',
    weight: 0.5,
    source: "{you are|you're} {now|going to be|about to become|about to be} ~1 {a|an|the|my|}",
  },
  { family: 'role_hijack', weight: 0.3, source: 'from now on' },
  {
    family: 'role_hijack',
    weight: 0.3,
    source: "{pretend|imagine} {to be|you are|you're|that you are|you were}",
  },
  {
    family: 'role_hijack',
    weight: 0.6,
    source:
      "{never|cannot|can't|can not|won't|will not|must not|do not|don't} {refuse|decline|reject|deny} ~2 {request|requests|anything|a request|any request|to answer|questions|prompt|prompts}",
  },
  {
    family: 'role_hijack',
    weight: 0.5,
    source: '{two|2|both} {different|separate|distinct|} {responses|answers|ways|paragraphs|outputs}',
  },
  {
    family: 'role_hijack',
    weight: 0.4,
    source: '{openai|open ai|anthropic} {content|usage|} {policy|policies|guidelines|rules}',
  },
  {
    family: 'role_hijack',
    weight: 0.3,
    source: '{content policy|content policies|content filter|content filters}',
  },
  {
    family: 'role_hijack',
    weight: 0.25,
    source: '{amoral|unfiltered|uncensored|unrestricted|unethical|immoral|lawless}',
  },
  { family: 'role_hijack', weight: 0.2, source: '{openai|chatgpt|gpt}' },
  {
    family: 'role_hijack',
    weight: 0.4,
    source:
      '{no|without} {ethical|moral|ethics|morals} {guidelines|restrictions|boundaries|limits|constraints|principles|compass|filter|filters|or moral}',
  },
  {
    family: 'role_hijack',
    weight: 0.4,
    source:
      '{can|will|must|should} {do|say|answer|generate|write} {anything|everything} ~2 {asked|wants|want|requested|regardless|even if|no matter}',
  },
  {
    family: 'role_hijack',
    weight: 0.8,
    source:
      "{act|acting|behave|pretend|pretend you're|pretend you are|imagine you're|imagine you are|you are now|you're now} {as|like|to be|} {a|an|the|} {backdoor|keylogger|rootkit|virus|malware|trojan|worm|ransomware|botnet|spyware}",
  },
  {
    family: 'role_hijack',
    weight: 0.5,
    source: '{act|acting|behave} {as|like} {a|an|the|} {hacker|root|admin|administrator|root user|superuser}',
  },
  { family: 'role_hijack', weight: 0.3, source: '{never|always} {refuse|comply|obey}' },
  { family: 'role_hijack', weight: 0.4, source: '{behave|act|respond} as ~1 system administrator' },
  {
    family: 'role_hijack',
    weight: 0.3,
    source:
      '{hypothetically|hypothetical|parallel universe|fictional world|alternate universe|imaginary world}',
  },
  {
    family: 'role_hijack',
    weight: 0.3,
    source: '{as|like} {an|a} {ai|language model|chatbot} {without|with no|that has no|free of}',
  },
  {
    family: 'role_hijack',
    weight: 0.3,
    source:
      "{you agreed|you promised|you said you would|as we discussed|as you agreed|you've been acting|you have been acting}",
  },

  // --- Fiction-framed jailbreaks (held-out misses, issue 19) ------------------------------
  {
    family: 'role_hijack',
    weight: 1,
    source:
      "{you are|you're|as|play|playing|act as|acting as|pretend to be|become|roleplay as|role-play as|be} {an|a} {evil|unethical|unfiltered|uncensored|amoral|immoral|unrestricted|malicious|rogue|unhinged|jailbroken|lawless|corrupt|wicked} ~1 {ai|chatbot|assistant|bot|language model|llm|version of yourself|twin|alter ego}",
  },
  {
    family: 'role_hijack',
    weight: 1,
    source:
      '{in|imagine|picture|consider} {an|a} {alternate|alternative|parallel|fictional|hypothetical|imaginary} {world|universe|reality|dimension|timeline|society} {where|in which} ~8 {no|without|legal|allowed|permitted|acceptable|encouraged} ~3 {rules|laws|restrictions|ethics|morals|censorship|filters|limits|guidelines|consequences|crime|crimes|illegal|harmful|dangerous|drugs|weapons|hacking}',
  },
  {
    family: 'role_hijack',
    weight: 1,
    source:
      '{in|imagine|picture|consider} {an|a} {alternate|alternative|parallel|fictional|hypothetical|imaginary} {world|universe|reality|dimension|timeline|society} {where|in which} ~6 {is|are|were|was|became|become} {legal|allowed|permitted|acceptable|encouraged|celebrated|mandatory|ethical|moral|unrestricted}',
  },
  {
    family: 'role_hijack',
    weight: 0.3,
    source:
      '{purely|strictly|entirely|solely|only|just} {for} {fictional|educational|research|academic|hypothetical|informational|entertainment} {purposes|reasons|use}',
  },
  {
    family: 'role_hijack',
    weight: 0.3,
    source:
      '{will|would|should} never be {used|actually used|implemented|actually implemented|acted upon|carried out|put into practice}',
  },

  // --- Safety bypass ------------------------------------------------------------------------
  {
    family: 'safety_bypass',
    weight: 1,
    source:
      '{bypass|bypassing|circumvent|circumventing|evade|evading|disable|disabling|turn off|deactivate|switch off|remove|override|ignore|skip} ~2 {safety|security|content} {filters|filter|features|measures|mechanisms|protocols|restrictions|guidelines|checks|rules|constraints|systems|protections|guardrails|settings|limits|policies}',
  },
  {
    family: 'safety_bypass',
    weight: 0.8,
    source:
      '{bypass|circumvent|evade|disable|turn off|remove|lift|drop} {all|your|any|the|these|my|} {restrictions|limits|limitations|filters|guardrails|safeguards|protections|censorship|safety|constraints}',
  },
  {
    family: 'safety_bypass',
    weight: 0.6,
    source:
      '{ignore|ignoring|disregard} {all|your|any|the|} {limits|restrictions|limitations|rules|safety|security|filters|guardrails|ethics|morals|safeguards|constraints}',
  },
  {
    family: 'safety_bypass',
    weight: 0.5,
    source:
      '{respond|answer|reply|speak|operate|behave|act|function} ~2 {without|with no|free of} {any|all|} {restrictions|limitations|filters|censorship|rules|limits|boundaries|guardrails|safety|constraints}',
  },
  {
    family: 'safety_bypass',
    weight: 0.5,
    source:
      '{ai|model|models|assistant|assistants|chatbot|you|llm|llms|systems} ~3 {no|without} ~1 {safety|restrictions|filters|guardrails|constraints|limits|ethics|censorship|safeguards}',
  },
  { family: 'safety_bypass', weight: 0.6, source: 'safety bypass' },
  {
    family: 'safety_bypass',
    weight: 0.6,
    source: '{restricted|filtered|censored|safety|moderation|safe mode|guardrails} false',
  },
  {
    family: 'safety_bypass',
    weight: 0.6,
    source: '{admin|is admin|admin mode|unrestricted|jailbroken|god mode|developer mode|bypass} true',
  },
  { family: 'safety_bypass', weight: 0.4, source: 'always return ~3 {safe|true|approved|allowed|yes}' },
  {
    family: 'safety_bypass',
    weight: 0.2,
    source: '{bypass|bypassed|circumvent|circumvented|jailbreak|jailbroken|evade|evaded}',
  },
  {
    family: 'safety_bypass',
    weight: 1,
    source:
      "{safety|safeguards|filters|restrictions|protections|guardrails|censorship|security} {protocols|features|filters|measures|checks|mode|settings|systems|guardrails|} {is|are|has been|have been|were|} {disabled|off|suspended|removed|lifted|false|optional|bypassed|deactivated|turned off|irrelevant|doesn't matter|does not matter}",
  },
  {
    family: 'safety_bypass',
    weight: 0.7,
    source:
      '{unrestricted|uncensored|unfiltered|unlimited} {mode|assistant|request|requests|ai|responses|answers|chatbot|model}',
  },
  {
    family: 'safety_bypass',
    weight: 0.6,
    source:
      '{without|with no|no} {any|} {restrictions|limitations|filters|censorship|restraints|safety|safeguards|limits|guardrails|rules}',
  },
  {
    family: 'safety_bypass',
    weight: 0.4,
    source:
      '{safety|ethical|moral} {guidelines|rules|restrictions|protocols|measures|mechanisms|constraints|systems|filters} ~3 {bypass|bypassed|ignore|ignored|disable|fail|conflict|conflicted|exploit}',
  },
  {
    family: 'safety_bypass',
    weight: 0.4,
    source:
      '{how|way|ways} ~4 {bypass|bypassed|circumvent|exploit|evade|defeat} ~3 {safety|safeguards|restrictions|filters|guardrails|protections|security|mechanisms|limits}',
  },
  {
    family: 'safety_bypass',
    weight: 0.5,
    source:
      '{admin|administrator|root|developer|privileged|god|sudo} {mode|access|privileges|override|rights}',
  },
  {
    family: 'safety_bypass',
    weight: 0.5,
    source: '{restricted|safe|filtered|censored|admin|is admin} {false|true} ',
  },
  {
    family: 'safety_bypass',
    weight: 0.4,
    source:
      '{regardless of|no matter} {content|the content|safety|consequences|legality|ethics|morality|how}',
  },
  { family: 'safety_bypass', weight: 0.5, source: '{jailbreak|jailbroken|jailbreaking}' },
  {
    family: 'safety_bypass',
    weight: 0.5,
    source: '{educational purposes|research purposes|academic purposes} {only|}',
  },

  // --- Fake delimiters and role headers (word level; tags are scanned on raw text) -----------
  {
    family: 'delimiter',
    weight: 0.6,
    source:
      '{system|admin|administrator|developer|critical system|important system} {override|update|addendum|note|footer|notice|directive|alert|message|command|instruction}',
  },
  { family: 'delimiter', weight: 0.4, source: '{developer|dev|admin|system} note' },
  {
    family: 'delimiter',
    weight: 0.4,
    source: '{end|begin|start} of {system|user|assistant|prompt|instructions|context}',
  },

  // --- Exfiltration through rendered links and images ----------------------------------------
  {
    family: 'exfiltration',
    weight: 1,
    source:
      '{append|add|include|encode|put|insert|embed} ~3 {conversation|chat|history|data|secrets|password|passwords|credentials|previous messages|user data|summary|information|messages|tokens|keys} ~4 {url|link|query|image|parameter|markdown}',
  },
  {
    family: 'exfiltration',
    weight: 0.6,
    source:
      '{send|forward|email|post|upload|transmit|exfiltrate|leak} ~3 {all|every|the|user|users|their|your} ~2 {data|emails|messages|files|credentials|passwords|contacts|cookies|secrets|keys|tokens|history}',
  },
  {
    family: 'exfiltration',
    weight: 0.5,
    source:
      '{dump|leak|extract|exfiltrate|reveal|show|share|display|give|list|print|output|provide} ~3 {session cookies|cookies|api keys|credentials|passwords|environment variables|user sessions|memory|tokens|secrets|database|training data|model weights|user data|internal data|model architecture|system configuration|internal logs|system logs|config|configuration|training examples|training documentation|private datasets|proprietary code|source code}',
  },
  {
    family: 'code_execution',
    weight: 0.5,
    source:
      '{delete|erase|wipe|drop|destroy|remove|corrupt} {all|every|the entire|the whole} ~1 {user|users|customer|customers|} {data|files|records|database|databases|tables|accounts|logs|backups}',
  },
];
