// The benchmark's peer: node-oidc-provider with client credentials on its in-memory adapter.
// Installed and started by the benchmark into a scratch folder; not part of Shopkeeper.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'bench',
    client_secret: 'bench-secret-bench-secret-bench-secret',
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
  }],
  features: { clientCredentials: { enabled: true }, devInteractions: { enabled: false } },
});
provider.listen(port, '127.0.0.1', () => console.log('ready'));
