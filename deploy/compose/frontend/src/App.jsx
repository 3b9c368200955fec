import { useEffect, useState } from 'react';

// Trailing slash on purpose: the backend's routes are /api/items/ and /api/items/<id>/.
const API = '/api/items/';

async function request(url, options) {
  const headers = { Accept: 'application/json' };
  if (options?.body) headers['Content-Type'] = 'application/json';
  const res = await fetch(url, { ...options, headers });
  if (!res.ok) {
    let detail = '';
    try {
      detail = (await res.text()).slice(0, 200);
    } catch {
      // the body is only for the message
    }
    throw new Error(`${options?.method || 'GET'} ${url}: HTTP ${res.status}${detail ? ` ${detail}` : ''}`);
  }
  return res.status === 204 ? null : res.json();
}

export default function App() {
  const [items, setItems] = useState([]);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState('');
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');

  async function load() {
    try {
      const data = await request(API);
      setItems(Array.isArray(data) ? data : data.results || []);
      setError('');
    } catch (e) {
      setError(e.message);
    } finally {
      setLoading(false);
    }
  }

  useEffect(() => {
    load();
  }, []);

  async function add(event) {
    event.preventDefault();
    if (!name.trim()) return;
    try {
      await request(API, {
        method: 'POST',
        body: JSON.stringify({ name: name.trim(), description: description.trim() }),
      });
      setName('');
      setDescription('');
      await load();
    } catch (e) {
      setError(e.message);
    }
  }

  async function remove(id) {
    try {
      await request(`${API}${id}/`, { method: 'DELETE' });
      await load();
    } catch (e) {
      setError(e.message);
    }
  }

  return (
    <main>
      <h1 id="title">dockmaster stack</h1>
      <p id="subtitle">Served through dockmaster</p>

      <form id="add-item" onSubmit={add}>
        <input
          name="name"
          placeholder="Name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          required
        />
        <input
          name="description"
          placeholder="Description"
          value={description}
          onChange={(e) => setDescription(e.target.value)}
        />
        <button type="submit">Add</button>
      </form>

      {error && (
        <p id="error" role="alert">
          API error: {error}
        </p>
      )}
      {loading && <p id="loading">Loading…</p>}

      <ul id="items">
        {items.map((item) => (
          <li key={item.id} data-id={item.id} className={item.done ? 'done' : ''}>
            <span className="name">{item.name}</span>
            {item.description && <span className="description"> — {item.description}</span>}
            {item.created_at && (
              <time dateTime={item.created_at}> {new Date(item.created_at).toLocaleString()}</time>
            )}
            <button type="button" onClick={() => remove(item.id)} aria-label={`Delete ${item.name}`}>
              Delete
            </button>
          </li>
        ))}
      </ul>
      {!loading && !error && items.length === 0 && <p id="empty">No items yet.</p>}
    </main>
  );
}
