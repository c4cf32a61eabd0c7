package serve

import (
	"container/list"
	"sync"
)

// cache keeps recently rendered files (PNG, GIF) by key, least recently used first out, within
// a byte budget. Keys include the model's version, so a reloaded model never serves old images.
// Its methods are safe for concurrent use.
type cache struct {
	mu    sync.Mutex
	max   int // bytes
	size  int
	order *list.List // front: most recently used; values are *entry
	byKey map[string]*list.Element
}

type entry struct {
	key  string
	data []byte
}

func newCache(maxBytes int) *cache {
	return &cache{max: maxBytes, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns the file stored under key.
func (c *cache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byKey[key]
	if !ok {
		return nil, false
	}
	c.order.MoveToFront(e)
	return e.Value.(*entry).data, true
}

// put stores data under key, evicting the least recently used files beyond the budget. A file
// larger than the whole budget is not kept.
func (c *cache) put(key string, data []byte) {
	if len(data) > c.max {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byKey[key]; ok {
		c.size -= len(e.Value.(*entry).data)
		c.order.Remove(e)
	}
	c.byKey[key] = c.order.PushFront(&entry{key, data})
	c.size += len(data)
	for c.size > c.max {
		last := c.order.Back()
		old := last.Value.(*entry)
		c.order.Remove(last)
		delete(c.byKey, old.key)
		c.size -= len(old.data)
	}
}

// clear drops everything (after a model reload).
func (c *cache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.order.Init()
	c.byKey = map[string]*list.Element{}
	c.size = 0
}

// stats returns the number of files and bytes held.
func (c *cache) stats() (files, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.byKey), c.size
}
