// The official `openai` npm client against `umpire serve`: a plain completion, a stream, an
// image, errors. Prints one JSON line of what it saw; serve_test.py checks it.
// Usage: node openai_client.mjs BASE_URL API_KEY IMAGE_DATA_URI (NODE_PATH: where openai is)
import OpenAI from 'openai';

const [base, key, image] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0, timeout: 60000 });
const out = {};
const q = [{ role: 'user', content: 'What is the capital of France?' }];

const plain = await client.chat.completions.create({ model: 'tiny', messages: q, seed: 7, max_tokens: 16 });
out.plain = { content: plain.choices[0].message.content, finish: plain.choices[0].finish_reason,
              uncertainty: plain.uncertainty, object: plain.object };

const models = await client.models.list();
out.models = models.data.map((m) => m.id);

const stream = await client.chat.completions.create({ model: 'tiny', messages: q, seed: 7, max_tokens: 16,
                                                      stream: true });
let text = '', chunks = 0, last = null, role = null;
for await (const c of stream) {
  chunks++;
  if (c.choices.length && c.choices[0].delta.role) role = c.choices[0].delta.role;
  if (c.choices.length && c.choices[0].delta.content) text += c.choices[0].delta.content;
  last = c;
}
out.stream = { content: text, chunks, role, uncertainty: last && last.uncertainty,
               finish: last && last.choices.length ? last.choices[0].finish_reason : null };

const img = await client.chat.completions.create({
  model: 'tiny', seed: 7, max_tokens: 16,
  messages: [{ role: 'user', content: [{ type: 'text', text: 'What is in this image?' },
                                       { type: 'image_url', image_url: { url: image } }] }],
});
out.image = { content: img.choices[0].message.content, uncertainty: img.uncertainty };

out.errors = {};
for (const [name, req] of Object.entries({
  unknown_field: { model: 'tiny', messages: q, bogus: 1 },
  bad_base64: { model: 'tiny', messages: [{ role: 'user', content: [
    { type: 'image_url', image_url: { url: 'data:image/png;base64,!!!!' } }] }] },
  no_messages: { model: 'tiny', messages: [] },
})) {
  try {
    await client.chat.completions.create(req);
    out.errors[name] = 'no error';
  } catch (e) {
    out.errors[name] = { status: e.status, type: e.type ?? (e.error && e.error.type), param: e.param ?? null,
                         cls: e.constructor.name };
  }
}
try {
  const bad = new OpenAI({ baseURL: base, apiKey: 'wrong-key', maxRetries: 0 });
  await bad.chat.completions.create({ model: 'tiny', messages: q });
  out.errors.auth = 'no error';
} catch (e) {
  out.errors.auth = { status: e.status, cls: e.constructor.name, code: e.code ?? null };
}
console.log(JSON.stringify(out));
