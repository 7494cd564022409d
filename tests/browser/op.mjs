// Test OP: node op.mjs <port|0> <client_id> <client_secret> <redirect_uri>  -> prints "READY <issuer>".
// GET /interaction/<uid>[?sub=..&acr=..] logs in at once; acr defaults to the first supported acr_values entry.
import http from 'node:http';
import Provider from 'oidc-provider';

const [port, clientId, clientSecret, redirectUri] = process.argv.slice(2);
if (!redirectUri) { console.error('usage: op.mjs <port> <client_id> <secret> <redirect_uri>'); process.exit(2); }
const ACRS = (process.env.OP_ACRS ?? 'urn:amtsweg:loa:low urn:amtsweg:loa:substantial urn:amtsweg:loa:high').split(' ');
const server = http.createServer();
server.listen(Number(port), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`; // port 0 => the OS picks, no race
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic', // openidconnect's default
    }],
    acrValues: ACRS,
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['name', 'given_name', 'family_name'] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    findAccount: async (ctx, sub) => ({
      accountId: sub,
      claims: async () => ({ sub, name: `Test ${sub}`, given_name: 'Test', family_name: sub }),
    }),
    // First-party client: grant what was asked for, so no consent prompt ever shows.
    loadExistingGrant: async (ctx) => {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope(ctx.oidc.requestParamScopes ? [...ctx.oidc.requestParamScopes].join(' ') : 'openid');
      grant.addOIDCClaims(['sub', 'acr', 'auth_time', 'name', 'given_name', 'family_name']);
      await grant.save();
      return grant;
    },
  });
  // Auto-completing "login page"; runs after the provider's router, which does not claim this path.
  provider.use(async (ctx, next) => {
    if (ctx.method !== 'GET' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    const requested = (details.params.acr_values ?? '').split(' ').filter(Boolean);
    const acr = ctx.query.acr ?? requested.find((a) => ACRS.includes(a)) ?? ACRS[0];
    const accountId = ctx.query.sub ?? details.params.login_hint ?? 'citizen-1';
    const result = details.prompt.name === 'login'
      ? { login: { accountId, acr, amr: ['pwd'], remember: false } }
      : { error: 'access_denied', error_description: `unexpected prompt ${details.prompt.name}` };
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(returnTo);
  });
  server.on('request', provider.callback());
  console.log(`READY ${issuer}`);
});
if (process.env.OP_EXIT_ON_STDIN_EOF) process.stdin.on('end', () => process.exit(0)).resume();
