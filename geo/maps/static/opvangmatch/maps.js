/* opvangmatch maps: layer registry, colours and the candidate popup (built on click from compact rows).
 * Data reach the page only as JSON in one script element of type application/json (never as
 * template or script source); om.value(name) reads an element's part. Every string from data that is shown
 * as HTML arrives here already HTML-escaped by Python (html.escape); numbers are formatted here.
 * No inline style attributes: colours are set through the DOM (el.style), which the page's CSP allows. */
(function () {
  "use strict";
  var om = (window.opvangmatch = window.opvangmatch || { layers: {}, meta: {} });

  var store = null;
  om.value = function (name) {
    if (store === null) store = JSON.parse(document.getElementById("opvangmatch-data").textContent);
    return store[name];
  };

  /* Colour swatches in escaped HTML carry data-colour; paint them through the DOM (no style attribute). */
  om.paint = function (root) {
    var nodes = root.querySelectorAll("[data-colour]");
    for (var i = 0; i < nodes.length; i++) nodes[i].style.background = nodes[i].getAttribute("data-colour");
    return root;
  };

  om.register = function (key, layer, map) {
    layer.options.opvang = key;
    om.layers[key] = layer;
    om.map = map;
    return layer;
  };

  /* Count what a registered layer holds: features of a GeoJSON layer, markers of a (cluster) group. */
  om.count = function (key) {
    var layer = om.layers[key];
    return layer ? layer.getLayers().length : -1;
  };

  /* Rebuild a GeoJSON FeatureCollection of MultiPolygons from layers.encode_areas: integer coordinates
   * (first point of a ring absolute, then deltas) and ragged offsets of rings, polygons and geometries. */
  om.decodeAreas = function (enc, props) {
    var c = enc.c, r = enc.r, p = enc.p, g = enc.g, s = enc.s, features = [];
    for (var gi = 0; gi < g.length - 1; gi++) {
      var polygons = [];
      for (var pi = g[gi]; pi < g[gi + 1]; pi++) {
        var rings = [];
        for (var ri = p[pi]; ri < p[pi + 1]; ri++) {
          var ring = [], x = 0, y = 0;
          for (var k = r[ri]; k < r[ri + 1]; k++) {
            x += c[2 * k]; y += c[2 * k + 1];
            if (k === r[ri]) { x = c[2 * k]; y = c[2 * k + 1]; }
            ring.push([x / s, y / s]);
          }
          rings.push(ring);
        }
        polygons.push(rings);
      }
      features.push({ type: "Feature", properties: props[gi] || {},
        geometry: { type: "MultiPolygon", coordinates: polygons } });
    }
    return { type: "FeatureCollection", features: features };
  };

  om.classColor = function (value, classes) {
    /* classes: [[upper bound or null, colour], ...] in ascending order; null value = no data. */
    if (value === null || value === undefined || isNaN(value)) return classes.nodata;
    for (var i = 0; i < classes.steps.length; i++) {
      var step = classes.steps[i];
      if (step[0] === null || value <= step[0]) return step[1];
    }
    return classes.steps[classes.steps.length - 1][1];
  };

  var formats = {};
  function formatter(locale, style, digits) {
    var key = locale + style + digits;
    if (!formats[key]) {
      formats[key] = new Intl.NumberFormat(locale, { style: style, minimumFractionDigits: digits, maximumFractionDigits: digits });
    }
    return formats[key];
  }
  function number(value, locale, digits) { return formatter(locale, "decimal", digits).format(value); }
  function percent(value, locale) { return formatter(locale, "percent", 2).format(value); }
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return values[k]; });
  }
  om.number = number;

  /* row: [lat, lon, id, total, excluded, rank, capacity, [pf, prox, task], [share buurt, wijk, municipality],
   *       [[distance, estimate, nearest index, score, n500, n1000], ... per category], closes, gap, flag set index, title or null,
   *       [band or null, share of proximity weight on measurements or null, use state 0 not accepted / 1 unknown / 2 suitable]]
   * M: shared tables (labels, categories, names, flag sets, weights, good shares, profile, vintage, locale). */
  om.candidatePopup = function (row, M) {
    var T = M.text, loc = M.locale, html = [];
    html.push('<div class="om-popup"><b>' + (row[13] || T.building + " " + row[2]) + "</b><br>");
    html.push(T.score + " <b class=\"om-total\">" + number(row[3], loc, 2) + "</b>");
    if (row[4]) html.push(' <span class="om-excluded">(' + T.excluded + ")</span>");
    if (row[5]) html.push(" &middot; " + T.rank + " " + row[5]);
    html.push("<br>" + T.capacity + " " + row[6] + " " + T.places);
    html.push('<table class="om-components">');
    for (var c = 0; c < M.components.length; c++) {
      var comp = M.components[c], value = row[7][c];
      html.push("<tr><td>" + T[comp[0]] + "</td><td>" + (value === null ? "-" : number(value, loc, 2)) +
        "</td><td>" + T.weight + " " + number(comp[1], loc, 2) + "</td></tr>");
    }
    html.push("</table><ul class=\"om-measures\">");
    for (var l = 0; l < M.levels.length; l++) {
      var share = row[8][l];
      if (share !== null) {
        html.push("<li>" + fill(T.share_of, {
          level: T[M.levels[l]], share: percent(share, loc), allowed: percent(M.good_share[l], loc)
        }) + "</li>");
      }
    }
    for (var k = 0; k < M.categories.length; k++) {
      var cat = M.categories[k], m = row[9][k], line;
      if (!cat[2]) continue; /* weight 0: not part of this profile's score */
      if (m[0] !== null) {
        line = cat[1] + " " + number(m[0], loc, 0) + " m";
        if (m[2] !== null) line += ' <span class="om-nearest">(' + M.names[m[2]] + ")</span>";
      } else if (m[1] !== null) {
        line = cat[1] + " " + fill(T.estimate, { m: number(m[1], loc, 0) });
      } else {
        line = cat[1] + ": " + T.missing;
      }
      if (m.length > 4) line += " &middot; " + fill(T.within, { n500: m[4], n1000: m[5] });
      html.push('<li data-category="' + cat[0] + '">' + line + "</li>");
    }
    var v2 = row[14];
    if (v2) {
      if (v2[0]) html.push("<li>" + fill(T.band, { band: v2[0] }) + "</li>");
      if (v2[1] !== null) html.push('<li class="om-measured">' + fill(T.measured, { share: percent(v2[1], loc) }) + "</li>");
      html.push('<li class="om-use">' + T["use_state_" + v2[2]] + "</li>");
    }
    if (row[10] !== null) {
      html.push("<li>" + fill(T.closes, { closes: number(row[10], loc, 0), gap: number(Math.max(row[11] || 0, 0), loc, 0) }) + "</li>");
    }
    html.push("</ul>");
    var flags = M.flagsets[row[12]];
    if (flags && flags.length) html.push('<div class="om-flags">' + T.flags + ": " + flags.join("; ") + "</div>");
    html.push('<div class="om-meta">' + T.profile + " " + M.profile + " &middot; " + T.vintage + " " + M.vintage +
      "<br>" + T.distance_note + "</div></div>");
    return html.join("");
  };

  om.candidateMarker = function (row, M) {
    var colour = row[4] ? M.classes.nodata : om.classColor(row[3], M.classes);
    var marker = L.circleMarker([row[0], row[1]], {
      radius: 6, color: "#333", weight: 1, fillColor: colour, fillOpacity: 0.9, candidateId: row[2]
    });
    marker.bindPopup(function () { return om.candidatePopup(row, M); }, { maxWidth: 360 });
    return marker;
  };

  om.areaLayer = function (d, map) {
    return om.register(d.key, L.geoJSON(om.decodeAreas(d.areas, d.props), {
      style: function (f) {
        var s = Object.assign({}, d.style);
        if (f.properties.c) { s.fillColor = f.properties.c; }
        return s;
      },
      onEachFeature: function (f, layer) {
        if (f.properties.t) { layer.bindTooltip(f.properties.t, { sticky: true }); }
      },
      interactive: d.interactive
    }), map);
  };

  function dotIcon(colour, glyph) {
    var span = document.createElement("span");
    span.style.background = colour;
    span.textContent = glyph;
    return L.divIcon({ className: "om-icon", iconSize: [20, 20], html: span });
  }

  om.pointLayer = function (d, map) {
    var markers = d.rows.map(function (r) {
      var m = L.marker([r[0], r[1]], { icon: dotIcon(d.colour, d.glyph) });
      if (r[2]) { m.bindTooltip(r[2]); }
      if (r[3]) { m.bindPopup(r[3], { maxWidth: 320 }); }
      return m;
    });
    var group;
    if (d.cluster) { group = L.markerClusterGroup({ maxClusterRadius: 40 }); group.addLayers(markers); }
    else { group = L.featureGroup(markers); }
    return om.register(d.key, group, map);
  };

  om.lineLayer = function (d, map) {
    var parts = [];
    d.rows.forEach(function (r) {
      var style = { color: r[4], weight: 3 };
      /* r[6], when given: the walked route along the street network, [[lat, lon], ...] */
      parts.push(L.polyline(r[6] || [[r[0], r[1]], [r[2], r[3]]], style).bindTooltip(r[5]));
      parts.push(L.circleMarker([r[2], r[3]], { radius: 5, color: r[4], fill: true }).bindTooltip(r[5]));
    });
    return om.register(d.key, L.featureGroup(parts), map);
  };

  om.candidateLayer = function (d, map) {
    var meta = d.meta;
    om.meta[d.key] = meta;
    var markers = d.rows.map(function (row) { return om.candidateMarker(row, meta); });
    var group;
    if (d.cluster) { group = L.markerClusterGroup(d.cluster); group.addLayers(markers); }
    else { group = L.featureGroup(markers); }
    if (d.open_popup) {
      group.once("add", function () { setTimeout(function () { group.getLayers()[0].openPopup(); }, 0); });
    }
    return om.register(d.key, group, map);
  };

  om.legend = function (d, map) {
    var legend = L.control({ position: d.position });
    legend.onAdd = function () {
      var div = L.DomUtil.create("div", d.css_class);
      div.innerHTML = d.html;
      om.paint(div);
      L.DomEvent.disableScrollPropagation(div);
      L.DomEvent.disableClickPropagation(div);
      return div;
    };
    legend.addTo(map);
    return legend;
  };

  /* Leaflet Search over [{n: name, a: lat, o: lon}]; tips are built with textContent (names stay text). */
  om.searchControl = function (d, map) {
    var index = d.index;
    var control = new L.Control.Search({
      sourceData: function (text, callResponse) { callResponse(index); return { abort: function () {} }; },
      propertyName: "n", propertyLoc: ["a", "o"], initial: false, zoom: 16, marker: false,
      textPlaceholder: d.placeholder, position: "topleft",
      buildTip: function (text) { var li = L.DomUtil.create("li", ""); li.textContent = text; return li; }
    });
    map.addControl(control);
    om.search = control;
    return control;
  };

  /* The layer control; names come from data (escaped here: Leaflet puts a layer's name into innerHTML). */
  om.layerControl = function (d, layers, map) {
    var base = {}, overlays = {};
    layers.forEach(function (layer, i) {
      var span = document.createElement("span");
      span.textContent = d.names[i];
      (d.overlay[i] ? overlays : base)[span.innerHTML] = layer;
    });
    return L.control.layers(base, overlays, { collapsed: false, position: "topright", autoZIndex: true }).addTo(map);
  };
})();
