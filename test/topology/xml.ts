/**
 * A small XML well-formedness check for the SVG tests (no XML parser is a project dependency):
 * tags balance, attributes are quoted and unique, text and attribute values escape `<` and `&`.
 * @returns the problems found, empty when well-formed
 */
export function xmlProblems(xml: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const body = xml.replace(/^<\?xml[^>]*\?>\s*/, '');
  const token = /<!--[\s\S]*?-->|<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"<]*")*)\s*(\/?)>|<|&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/g;
  let roots = 0;
  for (const m of body.matchAll(token)) {
    if (m[0].startsWith('<!--')) continue;
    if (m[0] === '<') {
      problems.push(`malformed tag at ${m.index}: ${body.slice(m.index, m.index + 40)}`);
      continue;
    }
    if (m[0].startsWith('&')) {
      problems.push(`unescaped & at ${m.index}`);
      continue;
    }
    const [, closing, name, attrs, selfClosing] = m as unknown as [string, string, string, string, string];
    if (closing) {
      const open = stack.pop();
      if (open !== name) problems.push(`</${name}> closes <${open ?? 'nothing'}>`);
      continue;
    }
    const names = [...attrs.matchAll(/([\w:.-]+)\s*=/g)].map((a) => a[1]);
    if (new Set(names).size !== names.length) problems.push(`duplicate attribute in <${name}>`);
    if (stack.length === 0) roots++;
    if (!selfClosing) stack.push(name);
  }
  if (stack.length > 0) problems.push(`unclosed: ${stack.join(' > ')}`);
  if (roots !== 1) problems.push(`${roots} root elements`);
  return problems;
}
