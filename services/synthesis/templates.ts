/**
 * The template grammar of the user turns: six phrasings per intent (families f0..f5; f0–f3 are
 * for training, f4–f5 are held out for the test split), distractor sentences, the phrasings that
 * supply a withheld value (miss_param), and the assistant's short replies.
 * @module
 */
import type { Split } from "./entities.ts";

/** Number of template families (phrasings per intent). */
export const FAMILY_COUNT = 6;

/** The families a split renders with. */
export function splitFamilies(split: Split): readonly number[] {
  return split === "train" ? [0, 1, 2, 3] : [4, 5];
}

/** Phrasings per intent id; `{slot}` is replaced by the slot value. */
export const PHRASINGS: Readonly<Record<string, readonly string[]>> = {
  "fs.find_cat": [
    "Find the file named {stem} and show me what it says.",
    "Look for the {stem} file and print its content.",
    "Where is my {stem} file? Open it and read it to me.",
    "Search for {stem} and display the file.",
    "Locate the file called {stem} and show its text.",
    "I need the {stem} file: find it and print it.",
  ],
  "fs.ls_wc": [
    "Go to the {folder} folder and count the words in the first file there.",
    "Open {folder}, list it, and give me the word count of its first file.",
    "In the {folder} directory, how many words does the first file have?",
    "Enter {folder} and count words in the first file you see.",
    "Check {folder} and tell me the word count of the first file listed.",
    "Move into {folder}; I want the number of words of its first file.",
  ],
  "fs.new_note": [
    "Create a file named {file} with the text '{text}'.",
    "Make a new file {file} and write '{text}' in it.",
    "Please add a file called {file} containing '{text}'.",
    "New file {file}, content '{text}'.",
    "Write '{text}' into a new file named {file}.",
    "I want a file {file} that says '{text}'.",
  ],
  "fs.mkdir_mv": [
    "Make a folder called {dir} and move that file into it.",
    "Create the directory {dir} and put the file there.",
    "Put that file in a new folder named {dir}.",
    "New folder {dir}, then move the file into it.",
    "Move the file into a fresh directory called {dir}.",
    "I want that file inside a new folder {dir}.",
  ],
  "fs.copy": [
    "Copy that file to {copy}.",
    "Make a copy of the file named {copy}.",
    "Duplicate the file as {copy}.",
    "Please copy the file and call the copy {copy}.",
    "Save a copy of that file under the name {copy}.",
    "I need a second copy of it called {copy}.",
  ],
  "fs.grep": [
    "Search that file for the word {word}.",
    "Find lines with {word} in the file.",
    "Which lines of the file mention {word}?",
    "Grep the file for {word}.",
    "Look inside that file for {word}.",
    "Show me where {word} appears in the file.",
  ],
  "math.mean": [
    "What is the mean of {nums}?",
    "Compute the average of {nums}.",
    "Give me the mean of the numbers {nums}.",
    "Average these numbers: {nums}.",
    "I need the average of {nums}.",
    "Find the mean value of {nums}.",
  ],
  "math.percent": [
    "What percentage of {whole} is {part}?",
    "Compute {part} as a percent of {whole}.",
    "How many percent is {part} out of {whole}?",
    "Give me the percentage {part} of {whole}.",
    "Tell me what percent {part} is of {whole}.",
    "Percentage of {part} in {whole}, please.",
  ],
  "math.max_sqrt": [
    "Take the largest of {nums} and give me its square root.",
    "Find the max of {nums}, then its square root.",
    "What is the square root of the biggest number in {nums}?",
    "Get the maximum of {nums} and take the root of it.",
    "Pick the highest of {nums}; I want its square root.",
    "Square root of the max of {nums}, please.",
  ],
  "math.add": [
    "Add {n} to that result.",
    "Now add {n} to it.",
    "Take the result and add {n}.",
    "Increase that number by {n}.",
    "Plus {n} on the last result, please.",
    "Sum the last result with {n}.",
  ],
  "math.multiply": [
    "Multiply that result by {n}.",
    "Now multiply it by {n}.",
    "Take the result times {n}.",
    "Scale that number by {n}.",
    "Times {n} on the last result, please.",
    "Give me the last result multiplied by {n}.",
  ],
  "ticket.create": [
    "Open a ticket titled '{title}' with priority {priority}.",
    "Create a support ticket '{title}', priority {priority}.",
    "Please file a ticket called '{title}' at priority {priority}.",
    "New ticket: '{title}', priority {priority}.",
    "Raise a ticket named '{title}' with priority level {priority}.",
    "I need a ticket '{title}' with priority {priority}.",
  ],
  "ticket.get": [
    "Show me that ticket.",
    "Get the details of the ticket.",
    "What does the ticket look like now?",
    "Fetch that ticket for me.",
    "Pull up the ticket.",
    "Let me see the ticket again.",
  ],
  "ticket.priority": [
    "Change the ticket priority to {priority}.",
    "Set that ticket to priority {priority}.",
    "Update the ticket so its priority is {priority}.",
    "Make the ticket priority {priority}.",
    "Edit the ticket: priority {priority}.",
    "Move that ticket to priority {priority}.",
  ],
  "ticket.resolve": [
    "Resolve the ticket with the note '{text}'.",
    "Mark that ticket resolved: '{text}'.",
    "Close out the ticket as resolved, saying '{text}'.",
    "Resolve it with resolution '{text}'.",
    "Set the ticket to resolved with '{text}'.",
    "The ticket is solved; note '{text}'.",
  ],
  "ticket.close": [
    "Close that ticket.",
    "Please close the ticket now.",
    "The ticket can be closed.",
    "Shut the ticket.",
    "Go ahead and close it.",
    "Close the ticket, we are done.",
  ],
  "msg.send": [
    "Send '{text}' to {name}.",
    "Message {name}: '{text}'.",
    "Tell {name} '{text}'.",
    "Please send {name} the message '{text}'.",
    "Write to {name} saying '{text}'.",
    "Drop {name} a note: '{text}'.",
  ],
  "msg.add_send": [
    "Add {name} as a contact and send '{text}'.",
    "Make {name} a new contact, then message '{text}'.",
    "Save {name} to my contacts and write '{text}'.",
    "New contact {name}; send them '{text}'.",
    "Put {name} in contacts and tell them '{text}'.",
    "Add {name} and message them '{text}'.",
  ],
  "msg.delete": [
    "Delete the last message I sent them.",
    "Remove that message.",
    "Undo the message I just sent.",
    "Take back my last message to them.",
    "Please delete that message.",
    "Erase the message I sent.",
  ],
  "msg.stats": [
    "How many messages and contacts do I have?",
    "Show my message stats.",
    "Give me my messaging statistics.",
    "What are my message numbers?",
    "Report my message counts.",
    "Tell me my inbox stats.",
  ],
  "tw.post": [
    "Tweet '{text}' with the tag {tag}.",
    "Post '{text}' and tag it {tag}.",
    "Please post a tweet saying '{text}', tag {tag}.",
    "New tweet: '{text}', tag {tag}.",
    "Share '{text}' on twitter with tag {tag}.",
    "Publish '{text}' tagged {tag}.",
  ],
  "tw.comment": [
    "Comment '{text}' on that tweet.",
    "Reply to the tweet with '{text}'.",
    "Add the comment '{text}' to it.",
    "Leave a comment: '{text}'.",
    "Write '{text}' under that tweet.",
    "Put the comment '{text}' on the post.",
  ],
  "tw.mention": [
    "Mention {handle} in that tweet.",
    "Tag the user {handle} on the tweet.",
    "Add a mention of {handle} to it.",
    "Mention {handle} on the post.",
    "Let {handle} know with a mention on that tweet.",
    "Include {handle} as a mention.",
  ],
  "tw.search_retweet": [
    "Find the tweet about {keyword} and retweet it.",
    "Search tweets for {keyword} and retweet the one you find.",
    "Retweet the post that mentions {keyword}.",
    "Look up {keyword} on twitter and retweet it.",
    "There is a tweet with {keyword}; retweet it.",
    "Retweet whatever tweet talks about {keyword}.",
  ],
  "tw.follow": [
    "Follow {handle}.",
    "Please follow the user {handle}.",
    "Start following {handle}.",
    "Add {handle} to the people I follow.",
    "Follow the account {handle}.",
    "I want to follow {handle}.",
  ],
  "trade.buy": [
    "Buy {amount} shares of {name} at the current price.",
    "Place a buy order for {amount} {name} shares at market price.",
    "Get me {amount} shares of {name} at today's price.",
    "Order {amount} {name} shares at the current price.",
    "Purchase {amount} shares in {name} at its price now.",
    "I want {amount} {name} shares bought at the present price.",
  ],
  "trade.cancel": [
    "Cancel that order.",
    "Please cancel the order.",
    "Call off the order I just made.",
    "Drop that order.",
    "I changed my mind, cancel it.",
    "Undo the order.",
  ],
  "trade.details": [
    "Show me the order details.",
    "What is the status of that order?",
    "Get the details of my order.",
    "Check on the order.",
    "How is the order doing?",
    "Pull up that order for me.",
  ],
  "trade.watch": [
    "Add {name} to my watchlist.",
    "Watch the {name} stock.",
    "Put {name} on the watchlist.",
    "Track {name} in my watchlist.",
    "I want {name} on my watchlist.",
    "Please watch {name} for me.",
  ],
  "trade.fund": [
    "Add {amount} to my trading account.",
    "Fund the account with {amount}.",
    "Deposit {amount} into my account.",
    "Put {amount} in the trading account.",
    "Top up my account by {amount}.",
    "I want to deposit {amount}.",
  ],
  "travel.airport": [
    "What is the nearest airport to {city}?",
    "Find the airport closest to {city}.",
    "Which airport is near {city}?",
    "Give me the nearest airport for {city}.",
    "Look up the airport by {city}.",
    "Tell me the closest airport to {city}.",
  ],
  "travel.cost": [
    "How much is an economy flight from {from} to {to} on {date}?",
    "Price an economy ticket {from} to {to} for {date}.",
    "What does economy cost from {from} to {to} on {date}?",
    "Check the economy fare from {from} to {to}, {date}.",
    "Get me the flight cost {from} to {to} on {date} in economy.",
    "I fly economy from {from} to {to} on {date}; what is the price?",
  ],
  "travel.exchange": [
    "Convert {value} USD to {cur}.",
    "How much is {value} dollars in {cur}?",
    "Exchange {value} USD into {cur}.",
    "What is {value} USD worth in {cur}?",
    "Change {value} US dollars to {cur}.",
    "Give me {value} USD in {cur}.",
  ],
  "car.start": [
    "Start the car.",
    "Please start the engine.",
    "Turn the engine on.",
    "Get the car running.",
    "Fire up the engine.",
    "I want the engine started.",
  ],
  "car.distance": [
    "How far is it from {a} to {b}?",
    "Estimate the distance between {a} and {b}.",
    "What is the distance from {a} to {b}?",
    "Tell me how far {a} is from {b}.",
    "Get the distance {a} to {b}.",
    "I drive from {a} to {b}; how far is that?",
  ],
  "car.feasible": [
    "Can I drive that distance with my fuel?",
    "Is the car able to make that trip?",
    "Check if I can drive that far.",
    "Will my mileage cover that distance?",
    "Can the car go that far?",
    "Is that distance doable on my tank?",
  ],
  "car.fuel": [
    "Add {n} gallons of fuel.",
    "Fill the tank with {n} gallons.",
    "Put {n} gallons in the tank.",
    "Refuel with {n} gallons.",
    "Top up the fuel by {n} gallons.",
    "I need {n} gallons of fuel added.",
  ],
  "car.climate": [
    "Set the temperature to {t} celsius.",
    "Make it {t} degrees celsius inside.",
    "Adjust the climate to {t} celsius.",
    "Change the cabin temperature to {t} celsius.",
    "Put the AC on {t} celsius.",
    "I want {t} degrees celsius in the car.",
  ],
};

/** How a withheld slot is referred to in a miss_param turn. */
export const VAGUE: Readonly<Record<string, string>> = {
  text: "something",
  dir: "a folder",
  copy: "another name",
  nums: "some numbers",
  n: "a number",
  title: "something",
  handle: "someone",
  amount: "some",
  city: "a city",
  date: "some day",
  value: "some",
  t: "some",
};

/** Phrasings that supply a withheld value (one per family). */
export const PROVIDE: readonly string[] = [
  "The {label} is {value}.",
  "Use {value} as the {label}.",
  "Oh, the {label} should be {value}.",
  "Sorry: {label} {value}.",
  "I meant {value} for the {label}.",
  "Right, make the {label} {value}.",
];

/** Distractor sentences, by split (train families see the first list only). */
export const DISTRACTORS: Readonly<Record<Split, readonly string[]>> = {
  train: [
    "It is raining today.",
    "I had coffee an hour ago.",
    "My cat is asleep.",
    "The meeting went fine.",
    "I am a bit tired.",
    "Traffic was slow this morning.",
  ],
  test: [
    "The sun is out now.",
    "I just got back from lunch.",
    "My phone is almost out of battery.",
  ],
};

/** The assistant's reply after the calls of a turn. */
export const REPLY_DONE = "Done.";
/** The reply when a needed function is not available (miss_func). */
export const REPLY_NO_FUNCTION = "I cannot do that with the functions I have.";
/** The reply when a needed value is missing (miss_param); `{label}` names it. */
export const REPLY_ASK = "Which {label} should I use?";
/** The reply to a turn whose ground truth has no calls (BFCL). */
export const REPLY_NO_CALL = "I need more information or another function to do that.";

/** Fills `{slot}` placeholders. */
export function fill(template: string, slots: Readonly<Record<string, string>>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => slots[k] ?? m);
}
